"""α-weighted query expansion (α-QE)."""

import numpy as np

from gcahng.registry import RERANKERS
from .base import CHUNK, BaseReranker, alpha_expand


@RERANKERS.register_module()
class AlphaQueryExpansion(BaseReranker):
    """α-QE (Radenović, Tolias and Chum, TPAMI 2018; docs/reranking.md):
    each query is replaced by ``q' = normalise(q + sum_{i<=k}
    max(cos(q, g_i), 0)^alpha g_i)`` over its ``k`` nearest gallery items,
    and ``q'`` searches the gallery again (exact faiss k-NN; in
    leave-one-out the query stays out of both rankings). Training-free and
    per query: a query's ranking does not depend on the others.

    Time: two exact searches, ``O(Q G D)``; memory: ``O(Q (k + K) + chunk
    k D)`` on top of the gallery's index (no ``Q x G`` matrix). Scores are
    ``cos(q', g)``.

    Args:
        k (int): Neighbours that expand a query. Defaults to 2.
        alpha (float): Weight exponent; 0 is plain average query expansion.
            Defaults to 3.0.
    """

    def __init__(self, k: int = 2, alpha: float = 3.0) -> None:
        if k < 1:
            raise ValueError(f'AlphaQueryExpansion needs k >= 1, got {k}')
        super().__init__(k=int(k), alpha=float(alpha))

    def _rank(self, prepared, query, k, exclude):
        """See :meth:`BaseReranker.search`."""
        n = min(self.params['k'], prepared.size - int(exclude is not None))
        idx = np.empty((len(query), k), dtype=np.int64)
        scores = np.empty((len(query), k), dtype=np.float32)
        for start in range(0, len(query), CHUNK):
            stop = min(start + CHUNK, len(query))
            own = None if exclude is None else exclude[start:stop]
            near, sims = prepared.index.search(query[start:stop], n, own)
            expanded = alpha_expand(query[start:stop], prepared.vectors[near],
                                    sims, self.params['alpha'])
            idx[start:stop], scores[start:stop] = prepared.index.search(
                expanded, k, own)
        return idx, scores
