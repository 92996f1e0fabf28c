"""What the re-rankers share: the interface, the α-weighted sum of
neighbours, chunked searches and building a re-ranker from a spec
(docs/reranking.md)."""
from typing import Any, Dict, Optional, Tuple, Union

import numpy as np

from gcahng.registry import RERANKERS
from gcahng.utils.cli import UserError
from gcahng.utils.config_check import unknown_arguments
from ..functional import FlatSearch, _select_backend

#: Short names of the re-rankers (``--rerank`` of ``tools/retrieve.py``,
#: ``RetrievalMetric(rerank=...)``, ``ImageSearcher(rerank=...)``).
RERANK_ALIASES: Dict[str, str] = {
    'qe': 'AlphaQueryExpansion',
    'dba': 'DatabaseAugmentation',
    'k_reciprocal': 'KReciprocalReranking',
}
#: Queries searched at once by the re-rankers' own loops.
CHUNK = 4096


class RerankSpecError(UserError, ValueError):
    """A re-ranking spec that is none of the accepted forms."""


class PreparedGallery:
    """A gallery made ready for a re-ranker's searches.

    Attributes:
        vectors (ndarray): ``[G, D]`` the embeddings the queries are ranked
            against (the augmented ones for DBA).
        index (FlatSearch): The exact search over ``vectors``.
        extra (dict): What else the re-ranker keeps (k-reciprocal: the
            gallery's own neighbour lists).
    """

    def __init__(self, vectors: np.ndarray, index: FlatSearch,
                 **extra: Any) -> None:
        self.vectors = vectors
        self.index = index
        self.extra = extra

    @property
    def size(self) -> int:
        """The number of gallery items."""
        return len(self.vectors)


def flat_search(vectors: np.ndarray) -> FlatSearch:
    """An exact CPU search over ``vectors`` (faiss, else torch)."""
    backend, device = _select_backend('cpu', 1)
    return FlatSearch(vectors, backend, device)


def search_all(index: FlatSearch,
               query: np.ndarray,
               k: int,
               exclude: Optional[np.ndarray] = None,
               chunk: int = CHUNK) -> Tuple[np.ndarray, np.ndarray]:
    """:meth:`FlatSearch.search` over ``query`` in chunks of ``chunk``
    queries (bounded memory on the torch fallback)."""
    idx = np.empty((len(query), k), dtype=np.int64)
    scores = np.empty((len(query), k), dtype=np.float32)
    for start in range(0, len(query), chunk):
        stop = min(start + chunk, len(query))
        idx[start:stop], scores[start:stop] = index.search(
            query[start:stop], k,
            None if exclude is None else exclude[start:stop])
    return idx, scores


def alpha_expand(vectors: np.ndarray, neighbours: np.ndarray,
                 similarities: np.ndarray, alpha: float) -> np.ndarray:
    """``normalise(x + sum_i max(s_i, 0)^alpha n_i)`` for each row ``x`` of
    ``vectors [n, D]`` with its neighbours ``neighbours [n, m, D]`` at
    cosine ``similarities [n, m]`` (α-QE and α-DBA, Radenović et al.,
    TPAMI 2018; ``x`` itself has weight ``1 = cos(x, x)^alpha``)."""
    weights = np.maximum(similarities, 0.0)**alpha
    out = vectors + np.einsum('nm,nmd->nd', weights, neighbours)
    norm = np.linalg.norm(out, axis=1, keepdims=True)
    return np.ascontiguousarray(
        out / np.maximum(norm, 1e-12), dtype=np.float32)


class BaseReranker:
    """A re-ranking of an exact cosine k-NN search (docs/reranking.md).

    :meth:`prepare` does the gallery's work once (cached by
    ``GalleryIndex`` for as long as its gallery), :meth:`search` ranks
    queries against a prepared gallery. Inputs are L2-normalised float32
    embeddings (``as_embeddings``). A query that is a gallery item (the
    leave-one-out protocol, ``exclude``) is left out of its own ranking by
    index, as the metric does.

    Args:
        **params: The re-ranker's settings (kept for :meth:`cache_key`).
    """

    def __init__(self, **params: Any) -> None:
        self.params = params

    def __repr__(self) -> str:
        args = ', '.join(f'{k}={v!r}' for k, v in self.params.items())
        return f'{type(self).__name__}({args})'

    def cache_key(self) -> Tuple:
        """What identifies the prepared gallery of this re-ranker."""
        return (type(self).__name__, tuple(sorted(self.params.items())))

    def prepare(self,
                gallery: np.ndarray,
                index: Optional[FlatSearch] = None) -> PreparedGallery:
        """The gallery ready for :meth:`search` (``index``: an exact
        search over ``gallery`` that the caller has already built)."""
        return PreparedGallery(gallery, index or flat_search(gallery))

    def search(
            self,
            prepared: PreparedGallery,
            query: np.ndarray,
            k: int,
            exclude: Optional[np.ndarray] = None
    ) -> Tuple[np.ndarray, np.ndarray]:
        """The ``k`` best gallery items of each query after re-ranking.

        Args:
            prepared (PreparedGallery): From :meth:`prepare`.
            query (ndarray): ``[Q, D]`` L2-normalised float32.
            k (int): Results per query (at most the gallery size, less one
                with ``exclude``).
            exclude (ndarray, optional): ``[Q]`` the gallery index of each
                query when the queries are gallery items (leave-one-out).

        Returns:
            tuple: ``indices [Q, k]`` (int64, best first) and ``scores
            [Q, k]`` (float32, the re-ranker's similarity, higher is
            better).
        """
        if not 0 < k <= prepared.size - int(exclude is not None):
            raise ValueError(f'{k} results asked of a gallery of '
                             f'{prepared.size} items')
        return self._rank(prepared, query, int(k), exclude)

    def _rank(self, prepared, query, k, exclude):
        """:meth:`search` after its checks: each re-ranker's own."""
        raise NotImplementedError

    def rerank(self,
               query: np.ndarray,
               k: int,
               gallery: Optional[np.ndarray] = None
               ) -> Tuple[np.ndarray, np.ndarray]:
        """:meth:`prepare` and :meth:`search` in one call; ``gallery=None``
        is leave-one-out (the queries are the gallery)."""
        if gallery is None:
            return self.search(
                self.prepare(query), query, k, np.arange(len(query)))
        return self.search(self.prepare(gallery), query, k)


def build_reranker(
        spec: Union[None, str, dict, BaseReranker]) -> Optional[BaseReranker]:
    """A re-ranker from ``None`` / ``'none'`` (no re-ranking), a short name
    of :data:`RERANK_ALIASES`, a registered type name, a config dict
    (``dict(type='k_reciprocal', k1=20)``) or a re-ranker."""
    if spec is None or isinstance(spec, BaseReranker):
        return spec
    if isinstance(spec, str):
        if spec == 'none':
            return None
        spec = dict(type=spec)
    if not isinstance(spec, dict) or 'type' not in spec:
        raise RerankSpecError(
            'rerank must be None, one of ' + ', '.join(RERANK_ALIASES) +
            ", a dict with a 'type' (e.g. rerank.type=k_reciprocal "
            f'rerank.k1=10 in --cfg-options) or a re-ranker, got {spec!r}')
    spec = dict(spec)
    spec['type'] = RERANK_ALIASES.get(spec.get('type'), spec.get('type'))
    cls = RERANKERS.get(spec['type'])
    if cls is None:
        raise RerankSpecError(
            f'unknown re-ranker {spec["type"]!r}: one of '
            f'{", ".join(RERANK_ALIASES)} or a registered type '
            f'({", ".join(sorted(RERANKERS.module_dict))})')
    problem = unknown_arguments(cls, spec)
    if problem:
        raise RerankSpecError(problem)
    return RERANKERS.build(spec)
