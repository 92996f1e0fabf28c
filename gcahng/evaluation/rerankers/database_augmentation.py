"""α-weighted database-side augmentation (α-DBA)."""
from typing import Optional

import numpy as np

from gcahng.registry import RERANKERS
from ..functional import FlatSearch
from .base import (CHUNK, BaseReranker, PreparedGallery, alpha_expand,
                   flat_search, search_all)


@RERANKERS.register_module()
class DatabaseAugmentation(BaseReranker):
    """α-DBA (Arandjelović and Zisserman, CVPR 2012; the α weights of
    Radenović et al., TPAMI 2018; docs/reranking.md): every gallery item is
    replaced by ``g' = normalise(g + sum_{i<=k} max(cos(g, g_i), 0)^alpha
    g_i)`` over its ``k`` nearest other gallery items, once per gallery;
    the queries, unchanged, are then ranked by ``cos(q, g')`` (exact faiss
    k-NN; a query that is a gallery item is left out by index). The
    augmentation uses the gallery only (transductive over the gallery, not
    over the queries): a query's ranking does not depend on the others.

    Time: ``O(G^2 D)`` once per gallery (its exact k-NN), then ``O(Q G D)``
    per search; memory: a second ``[G, D]`` copy (the augmented gallery and
    its index), ``O(chunk k D)`` while augmenting.

    Args:
        k (int): Neighbours that augment a gallery item. Defaults to 2.
        alpha (float): Weight exponent. Defaults to 3.0.
    """

    def __init__(self, k: int = 2, alpha: float = 3.0) -> None:
        if k < 1:
            raise ValueError(f'DatabaseAugmentation needs k >= 1, got {k}')
        super().__init__(k=int(k), alpha=float(alpha))

    def prepare(self,
                gallery: np.ndarray,
                index: Optional[FlatSearch] = None) -> PreparedGallery:
        """Augment the gallery (``index``: an exact search over it)."""
        index = index or flat_search(gallery)
        n = min(self.params['k'], len(gallery) - 1)
        if n < 1:  # a one-item gallery has no neighbours
            return PreparedGallery(gallery, index)
        augmented = np.empty_like(gallery)
        for start in range(0, len(gallery), CHUNK):
            stop = min(start + CHUNK, len(gallery))
            near, sims = index.search(gallery[start:stop], n,
                                      np.arange(start, stop))
            augmented[start:stop] = alpha_expand(gallery[start:stop],
                                                 gallery[near], sims,
                                                 self.params['alpha'])
        return PreparedGallery(augmented, flat_search(augmented))

    def _rank(self, prepared, query, k, exclude):
        """See :meth:`BaseReranker.search`."""
        return search_all(prepared.index, query, k, exclude)
