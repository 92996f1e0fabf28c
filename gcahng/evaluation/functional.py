"""Retrieval metrics of deep metric learning: R@K, RP and MAP@R
(docs/algorithm.md §8).

The definitions follow Musgrave et al., "A Metric Learning Reality Check"
(ECCV 2020). Embeddings are L2-normalised and ranked by cosine similarity
(inner product). For a query ``q`` with label ``y_q`` let ``rel(k) = 1`` if
the ``k``-th nearest gallery item has label ``y_q`` and
``R = |{g in gallery : y_g = y_q}|`` (the query itself excluded in
leave-one-out). Then

- ``R@K   = 1[sum_{k<=K} rel(k) >= 1]``                  (Recall@K),
- ``RP    = (1/R) sum_{k<=R} rel(k)``                    (R-Precision),
- ``MAP@R = (1/R) sum_{k<=R} P@k * rel(k)``, ``P@k = (1/k) sum_{i<=k} rel(i)``,

each averaged over queries and reported in percent.

Implementation: one exhaustive k-nearest-neighbour search of depth
``max(max(ks), max R)`` (faiss ``IndexFlatIP``; on a GPU when faiss sees one;
``torch.topk`` over a chunked matmul when faiss cannot be imported), queries
processed in chunks so that memory stays bounded, and all post-processing
vectorised over the ``[chunk, k]`` neighbour-label matrix.
"""
import warnings
from typing import Any, Dict, Iterator, Optional, Sequence, Tuple, Union

import numpy as np
import torch

ArrayLike = Union[torch.Tensor, np.ndarray]

#: faiss GPU indices cannot return more neighbours than this.
FAISS_GPU_MAX_K = 2048


def _import_faiss():
    """Return the ``faiss`` module, or ``None`` when it cannot be imported.

    Imported lazily on every call so that tests can hide it (by setting
    ``sys.modules['faiss'] = None``) to exercise the torch fallback.
    """
    try:
        import faiss
    except ImportError:
        return None
    return faiss


def as_embeddings(x: ArrayLike, name: str = 'embeddings') -> np.ndarray:
    """Convert to a C-contiguous float32 ``[N, D]`` array, rows L2-normed
    (``name`` is used in the error for a wrong shape)."""
    if isinstance(x, torch.Tensor):
        x = x.detach().to('cpu', torch.float32).numpy()
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f'`{name}` must be 2-D [N, D], got shape {x.shape}.')
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    # zero rows stay zero (similarity 0 to everything) instead of NaN
    x = x / np.maximum(norm, np.float32(1e-12))
    return np.ascontiguousarray(x, dtype=np.float32)


def _as_labels(y: ArrayLike, n: int, name: str) -> np.ndarray:
    """Convert to a 1-D numpy array of length ``n``."""
    if isinstance(y, torch.Tensor):
        y = y.detach().cpu().numpy()
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or len(y) != n:
        raise ValueError(f'`{name}` must have shape [{n}], got {y.shape}.')
    return y


def _select_backend(device: Optional[Union[str, torch.device]],
                    k: int) -> Tuple[str, Optional[torch.device]]:
    """Pick the search backend.

    ``device=None``: faiss on GPU 0 when ``faiss.get_num_gpus() > 0``, else
    faiss on the CPU; without faiss, torch on CUDA if available, else CPU.
    ``device='cpu'``: faiss CPU (torch CPU without faiss).
    ``device='cuda[:i]'``: faiss GPU ``i`` when faiss sees GPUs, else torch
    on that device. faiss GPU
    cannot select more than :data:`FAISS_GPU_MAX_K` neighbours; deeper
    searches on a GPU use torch.
    """
    dev = torch.device(device) if device is not None else None
    faiss = _import_faiss()
    if faiss is not None:
        num_gpus = faiss.get_num_gpus() if hasattr(faiss,
                                                   'get_num_gpus') else 0
        want_gpu = dev is None or dev.type == 'cuda'
        if num_gpus > 0 and want_gpu and k <= FAISS_GPU_MAX_K:
            index = dev.index if dev is not None and dev.index else 0
            return 'faiss-gpu', torch.device('cuda', index)
        if dev is None or dev.type == 'cpu':
            return 'faiss-cpu', None
    if dev is None:
        dev = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    return 'torch', dev


def _drop_self(idx: np.ndarray, query_ids: np.ndarray, *aligned:
               np.ndarray) -> Union[np.ndarray, tuple]:
    """Remove each query's own index from its ``k + 1`` neighbours (and the
    same entries of each ``aligned`` array, e.g. the scores).

    Exclusion is by index, not by distance: the column equal to the query's
    own gallery index is dropped; if the query is not among its ``k + 1``
    neighbours (duplicates / ties pushed it out) the last column is dropped,
    which leaves its ``k`` true nearest other items either way.
    """
    is_self = idx == query_ids[:, None]
    is_self[~is_self.any(axis=1), -1] = True
    shape = (idx.shape[0], idx.shape[1] - 1)
    kept = tuple(a[~is_self].reshape(shape) for a in (idx, ) + aligned)
    return kept if aligned else kept[0]


class FlatSearch:
    """Exact k-nearest-neighbour search by inner product over a fixed
    gallery, built once and searched many times.

    One faiss ``IndexFlatIP`` (``backend='faiss-gpu'``: a
    ``GpuIndexFlatIP`` on ``device``) holds the gallery; a search builds
    nothing and returns faiss's own scores. ``backend='torch'`` (faiss
    missing) ranks a ``[q, G]`` matmul with ``torch.topk`` on ``device``.
    Memory: one copy of the ``[G, D]`` gallery in the index; time per
    search: ``O(q G D)``.

    Args:
        gallery (ndarray): ``[G, D]`` float32, C-contiguous (as
            :func:`as_embeddings` returns; not normalised here).
        backend (str): ``'faiss-cpu'``, ``'faiss-gpu'`` or ``'torch'``
            (see :func:`_select_backend`).
        device (torch.device, optional): The GPU of ``'faiss-gpu'``, the
            device of ``'torch'``.
    """

    def __init__(self,
                 gallery: np.ndarray,
                 backend: str = 'faiss-cpu',
                 device: Optional[torch.device] = None) -> None:
        self.size, dim = gallery.shape
        self.backend = backend
        self.device = device
        if backend.startswith('faiss'):
            faiss = _import_faiss()
            if backend == 'faiss-gpu':
                self._resources = faiss.StandardGpuResources()
                cfg = faiss.GpuIndexFlatConfig()
                cfg.device = device.index or 0
                self.index = faiss.GpuIndexFlatIP(self._resources, dim, cfg)
            else:
                self.index = faiss.IndexFlatIP(dim)
            self.index.add(gallery)
        else:
            self.gallery = torch.from_numpy(gallery).to(device)

    def search(self,
               query: np.ndarray,
               k: int,
               exclude: Optional[np.ndarray] = None
               ) -> Tuple[np.ndarray, np.ndarray]:
        """The ``k`` most similar gallery items of each query.

        Args:
            query (ndarray): ``[q, D]`` float32, C-contiguous.
            k (int): Neighbours per query (at most the gallery size, less
                one with ``exclude``).
            exclude (ndarray, optional): ``[q]``: the gallery index of each
                query, left out of its own ranking by index (the query is a
                gallery item: leave-one-out).

        Returns:
            tuple: ``indices [q, k]`` (int64, most similar first) and
            ``scores [q, k]`` (float32 inner products).
        """
        if self.backend.startswith('faiss'):
            scores, idx = self.index.search(query,
                                            k + int(exclude is not None))
            idx = idx.astype(np.int64, copy=False)
            if exclude is not None:
                idx, scores = _drop_self(idx, exclude, scores)
            return idx, scores
        sim = torch.from_numpy(query).to(self.device) @ self.gallery.T
        if exclude is not None:
            rows = torch.arange(len(query), device=self.device)
            sim[rows, torch.from_numpy(exclude).to(self.device)] = \
                float('-inf')
        top = torch.topk(sim, k, dim=1, largest=True, sorted=True)
        return (top.indices.cpu().numpy().astype(np.int64, copy=False),
                top.values.cpu().numpy())


def _knn_chunks(
        query: np.ndarray, gallery: np.ndarray, k: int, leave_one_out: bool,
        chunk_size: int, backend: str,
        device: Optional[torch.device]) -> Iterator[Tuple[int, np.ndarray]]:
    """Yield ``(start, idx)``: the ``k`` nearest gallery indices (by inner
    product, most similar first) of ``query[start:start + len(idx)]``, the
    query itself excluded by index when ``leave_one_out``."""
    index = FlatSearch(gallery, backend, device)
    for start in range(0, query.shape[0], chunk_size):
        stop = min(start + chunk_size, query.shape[0])
        idx, _ = index.search(
            query[start:stop], k,
            np.arange(start, stop) if leave_one_out else None)
        yield start, idx


def _reranked_chunks(reranker: Any, query: np.ndarray, gallery: np.ndarray,
                     k: int, leave_one_out: bool,
                     chunk_size: int) -> Iterator[Tuple[int, np.ndarray]]:
    """:func:`_knn_chunks` through a re-ranker (``gcahng.evaluation.
    rerankers``): every query is ranked in one call (k-reciprocal
    re-ranking works on the queries and the gallery together), the
    neighbours are then handed out ``chunk_size`` queries at a time."""
    idx, _ = reranker.search(
        reranker.prepare(gallery), query, k,
        np.arange(len(query)) if leave_one_out else None)
    for start in range(0, len(query), chunk_size):
        yield start, idx[start:start + chunk_size]


def label_ids(
        query_labels: np.ndarray, gallery_labels: np.ndarray,
        leave_one_out: bool) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels as ids ``0 .. C-1`` and each query's ``R``.

    Returns:
        tuple: query ids ``[Q]``, gallery ids ``[G]`` and ``R [Q]``, the
        number of gallery items with the query's label (itself excluded in
        leave-one-out, where the gallery is the query set).
    """
    nq = len(query_labels)
    uniq, inv = np.unique(
        np.concatenate([query_labels, gallery_labels]), return_inverse=True)
    inv = inv.reshape(-1)
    q_ids = inv[:nq]
    g_ids = q_ids if leave_one_out else inv[nq:]
    counts = np.bincount(g_ids, minlength=len(uniq))
    return q_ids, g_ids, counts[q_ids] - (1 if leave_one_out else 0)


def precision_at_r(rel: np.ndarray,
                   num_rel: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Per-query R-Precision and MAP@R (fractions, 0 where ``R = 0``).

    Args:
        rel (ndarray): ``[c, k]`` bool, ``rel[q, i]``: the ``i+1``-th
            neighbour of query ``q`` has its label; ``k ≥ max R``.
        num_rel (ndarray): ``R [c]``.
    """
    r_cols = int(num_rel.max()) if len(num_rel) else 0
    if r_cols == 0:
        zeros = np.zeros(len(num_rel))
        return zeros, zeros
    rel_r = rel[:, :r_cols]  # only the first max(R) columns count
    cum = np.cumsum(rel_r, axis=1, dtype=np.int32)  # hits in top k
    ranks = np.arange(1, r_cols + 1)
    valid = num_rel > 0
    r_safe = np.maximum(num_rel, 1)
    hits_at_r = np.take_along_axis(cum, (r_safe - 1)[:, None], axis=1)[:, 0]
    # sum_{k<=R} P@k rel(k), P@k = cum_k / k
    mask = rel_r & (ranks[None, :] <= num_rel[:, None])
    ap = (cum / ranks[None, :] * mask).sum(axis=1) / r_safe
    return np.where(valid, hits_at_r / r_safe, 0.0), np.where(valid, ap, 0.0)


def nearest_neighbours(
    query: ArrayLike,
    k: int,
    gallery: Optional[ArrayLike] = None,
    chunk_size: int = 4096,
    device: Optional[Union[str, torch.device]] = None
) -> Iterator[Tuple[int, np.ndarray]]:
    """The exact search behind :func:`retrieval_metrics`, for tools that
    need the neighbours themselves.

    Embeddings are L2-normalised and ranked by cosine similarity; with
    ``gallery=None`` the gallery is the query set and each query is excluded
    by index (leave-one-out). Backend and ``device`` as in
    :func:`retrieval_metrics`.

    Yields:
        tuple: ``(start, idx)``: the ``k`` nearest gallery indices
        ``[len(idx), k]`` (most similar first) of the queries
        ``start .. start + len(idx) - 1``, ``chunk_size`` queries at a time.
    """
    q = as_embeddings(query, 'query')
    leave_one_out = gallery is None
    g = q if leave_one_out else as_embeddings(gallery, 'gallery')
    if not 0 < k <= len(g) - int(leave_one_out):
        raise ValueError(f'k = {k} neighbours requested from a gallery of '
                         f'{len(g) - int(leave_one_out)} candidates')
    backend, dev = _select_backend(device, k + int(leave_one_out))
    yield from _knn_chunks(q, g, k, leave_one_out, chunk_size, backend, dev)


def retrieval_metrics(query: ArrayLike,
                      query_labels: ArrayLike,
                      gallery: Optional[ArrayLike] = None,
                      gallery_labels: Optional[ArrayLike] = None,
                      ks: Sequence[int] = (1, 2, 4, 8),
                      chunk_size: int = 4096,
                      device: Optional[Union[str, torch.device]] = None,
                      rerank: Any = None) -> Dict[str, float]:
    """R@K, R-Precision and MAP@R of a retrieval problem (docs/algorithm.md
    §8).

    With ``y_q`` the query's label, ``rel(k) = 1[y_{nn_k(q)} = y_q]`` for the
    ``k``-th most cosine-similar gallery item and ``R_q`` the number of
    gallery items with label ``y_q`` (the query itself excluded in
    leave-one-out mode):

    - ``R@K = mean_q 1[sum_{k<=K} rel(k) >= 1]``,
    - ``RP  = mean_{q: R_q>0} (1/R_q) sum_{k<=R_q} rel(k)``,
    - ``M@R = mean_{q: R_q>0} (1/R_q) sum_{k<=R_q} P@k rel(k)`` with
      ``P@k = (1/k) sum_{i<=k} rel(i)`` (Musgrave et al., 2020).

    Queries without any relevant gallery item (``R_q = 0``) count as misses
    for every R@K, are left out of the RP and M@R averages, and their number
    is returned; RP / M@R are 0.0 (not NaN) if no query has a positive.

    A ``K`` larger than the gallery (the gallery minus the query itself in
    leave-one-out) is **clipped** to the gallery size: the top-K of a ranked
    list shorter than K is the whole list, so ``R@K`` is then the share of
    queries with at least one positive anywhere. A warning is issued; the key
    keeps the requested ``K``.

    The search is exact and exhaustive (faiss ``IndexFlatIP``, GPU when
    ``faiss.get_num_gpus() > 0``; ``torch.topk`` when faiss is missing) with
    depth ``max(max(ks), max_q R_q)`` (+1 in leave-one-out, where the query
    is then removed by index). Only ties in similarity can make it differ
    from a full sort.

    Args:
        query (Tensor | ndarray): Query embeddings ``[Q, D]``; L2-normalised
            here.
        query_labels (Tensor | ndarray): Query class labels ``[Q]``.
        gallery (Tensor | ndarray, optional): Gallery embeddings ``[G, D]``.
            ``None`` means leave-one-out: the query set is the gallery and
            each query is excluded from its own ranking by index.
        gallery_labels (Tensor | ndarray, optional): Gallery labels ``[G]``;
            required iff ``gallery`` is given.
        ks (Sequence[int]): The K of R@K. Defaults to (1, 2, 4, 8).
        chunk_size (int): Queries searched at once. Memory is about
            ``chunk_size * k * 12`` bytes for faiss and
            ``chunk_size * G * 4`` bytes for the torch fallback.
            Defaults to 4096.
        device (str | torch.device, optional): ``None`` picks automatically
            (faiss GPU > faiss CPU > torch CUDA > torch CPU); ``'cpu'`` or
            ``'cuda[:i]'`` force the device.
        rerank (str | dict, optional): Re-rank the search (``'qe'``,
            ``'dba'``, ``'k_reciprocal'`` or a config dict of
            ``gcahng.evaluation.rerankers``, docs/reranking.md), on the
            CPU; None (default) ranks by cosine similarity alone.

    Returns:
        dict: ``'R@{K}'`` for each K, ``'RP'`` and ``'M@R'`` in percent
        (floats), ``'num_queries'`` and ``'num_queries_without_positives'``
        (ints).
    """
    ks = [int(k) for k in ks]
    if len(ks) == 0 or min(ks) < 1:
        raise ValueError(f'`ks` must be non-empty positive ints, got {ks}.')
    ks = list(dict.fromkeys(ks))
    if chunk_size < 1:
        raise ValueError(f'`chunk_size` must be positive, got {chunk_size}.')

    query = as_embeddings(query, 'query')
    nq = query.shape[0]
    q_labels = _as_labels(query_labels, nq, 'query_labels')
    leave_one_out = gallery is None
    if leave_one_out:
        if gallery_labels is not None:
            raise ValueError('`gallery_labels` given without `gallery`.')
        gallery, g_labels = query, q_labels
        num_candidates = nq - 1
    else:
        if gallery_labels is None:
            raise ValueError('`gallery` given without `gallery_labels`.')
        gallery = as_embeddings(gallery, 'gallery')
        g_labels = _as_labels(gallery_labels, gallery.shape[0],
                              'gallery_labels')
        if gallery.shape[1] != query.shape[1]:
            raise ValueError('query and gallery dims differ: '
                             f'{query.shape[1]} vs {gallery.shape[1]}.')
        num_candidates = gallery.shape[0]
    if nq == 0:
        raise ValueError('No queries.')
    if num_candidates < 1:
        raise ValueError('The gallery is empty (leave-one-out needs at least '
                         'two embeddings).')

    q_ids, g_ids, num_rel = label_ids(q_labels, g_labels, leave_one_out)

    if max(ks) > num_candidates:
        warnings.warn(f'R@K with K > {num_candidates} (the number of gallery '
                      f'items per query) is clipped to K = {num_candidates}.')
    k_eff = {k: min(k, num_candidates) for k in ks}
    max_r = int(num_rel.max())
    k_search = min(max(max(ks), max_r), num_candidates)
    backend, dev = _select_backend(device, k_search + int(leave_one_out))

    hits = {k: 0 for k in ks}
    rp_sum = 0.0
    map_sum = 0.0
    if rerank is not None:
        from .rerankers import build_reranker  # they use this module
        rerank = build_reranker(rerank)
    if rerank is None:
        chunks = _knn_chunks(query, gallery, k_search, leave_one_out,
                             chunk_size, backend, dev)
    else:
        chunks = _reranked_chunks(rerank, query, gallery, k_search,
                                  leave_one_out, chunk_size)
    for start, idx in chunks:
        stop = start + idx.shape[0]
        rel = g_ids[idx] == q_ids[start:stop, None]  # [c, k_search] bool
        r = num_rel[start:stop]
        # R@K from the rank of the first relevant neighbour
        any_rel = rel.any(axis=1)
        first = np.where(any_rel, rel.argmax(axis=1), k_search)
        for k in ks:
            hits[k] += int(np.count_nonzero(first < k_eff[k]))
        rp, ap = precision_at_r(rel, r)
        rp_sum += float(rp.sum())
        map_sum += float(ap.sum())

    num_without = int(np.count_nonzero(num_rel == 0))
    num_valid = nq - num_without
    if num_valid == 0:
        warnings.warn('No query has a relevant gallery item: RP and M@R '
                      'are reported as 0.')
    metrics: Dict[str, float] = {}
    for k in ks:
        metrics[f'R@{k}'] = 100.0 * hits[k] / nq
    metrics['RP'] = 100.0 * rp_sum / num_valid if num_valid else 0.0
    metrics['M@R'] = 100.0 * map_sum / num_valid if num_valid else 0.0
    metrics['num_queries'] = nq
    metrics['num_queries_without_positives'] = num_without
    return metrics


def per_query_retrieval(query: np.ndarray,
                        query_labels: np.ndarray,
                        gallery: Optional[np.ndarray] = None,
                        gallery_labels: Optional[np.ndarray] = None,
                        topk: int = 5,
                        chunk_size: int = 1024) -> Dict[str, np.ndarray]:
    """Each query's ranked neighbours and scores (docs/algorithm.md §8
    definitions).

    Embeddings are L2-normalised and ranked by cosine similarity with the
    same exact search as :func:`retrieval_metrics`
    (leave-one-out by index when ``gallery`` is None), so per-query values
    average to its metrics.

    Returns:
        dict of arrays over the ``Q`` queries:
        ``indices [Q, k]`` (gallery positions, most similar first,
        ``k = min(topk, gallery size)``), ``similarities [Q, k]``,
        ``correct [Q, k]`` (same label), ``num_relevant [Q]`` (``R``),
        ``rp [Q]`` and ``ap [Q]`` (R-Precision and MAP@R in percent, NaN
        where ``R = 0``) and ``first_hit [Q]`` (1-based rank of the first
        same-class item, ``0`` if there is none).

    Raises:
        ValueError: if there is nothing to rank against.
    """
    q = as_embeddings(query, 'query')
    q_labels = np.asarray(query_labels).reshape(-1)
    leave_one_out = gallery is None
    if leave_one_out:
        g, g_labels = q, q_labels
        num_candidates = len(q) - 1
    else:
        g = as_embeddings(gallery, 'gallery')
        g_labels = np.asarray(gallery_labels).reshape(-1)
        num_candidates = len(g)
    if num_candidates < 1:
        raise ValueError('The gallery is empty.')
    q_ids, g_ids, num_rel = label_ids(q_labels, g_labels, leave_one_out)

    k_show = min(topk, num_candidates)
    depth = min(max(k_show, int(num_rel.max())), num_candidates)
    nq = len(q)
    indices = np.zeros((nq, k_show), dtype=np.int64)
    rp = np.full(nq, np.nan)
    ap = np.full(nq, np.nan)
    for start, idx in nearest_neighbours(q, depth,
                                         None if leave_one_out else g,
                                         chunk_size):
        stop = start + len(idx)
        indices[start:stop] = idx[:, :k_show]
        r = num_rel[start:stop]
        rp_chunk, ap_chunk = precision_at_r(
            g_ids[idx] == q_ids[start:stop, None], r)
        rp[start:stop] = np.where(r > 0, 100.0 * rp_chunk, np.nan)
        ap[start:stop] = np.where(r > 0, 100.0 * ap_chunk, np.nan)

    # exact rank of the first hit: 1 + #items more similar than the most
    # similar same-class item (the query itself excluded)
    first_hit = np.zeros(nq, dtype=np.int64)
    dev = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    gt = torch.from_numpy(g).to(dev)
    g_ids_t = torch.from_numpy(g_ids).to(dev)
    for start in range(0, nq, chunk_size):
        stop = min(start + chunk_size, nq)
        sim = torch.from_numpy(q[start:stop]).to(dev) @ gt.T
        qi = torch.from_numpy(q_ids[start:stop]).to(dev)
        same = g_ids_t[None, :] == qi[:, None]
        if leave_one_out:
            rows = torch.arange(stop - start, device=dev)
            sim[rows, rows + start] = float('-inf')
            same[rows, rows + start] = False
        best_pos = sim.masked_fill(~same, float('-inf')).amax(dim=1)
        rank = (sim > best_pos[:, None]).sum(dim=1) + 1
        rank = torch.where(same.any(dim=1), rank, torch.zeros_like(rank))
        first_hit[start:stop] = rank.cpu().numpy()

    sims = np.zeros(indices.shape, dtype=np.float32)
    for start in range(0, nq, chunk_size):
        stop = min(start + chunk_size, nq)
        sims[start:stop] = np.einsum('qd,qkd->qk', q[start:stop],
                                     g[indices[start:stop]])
    return dict(
        indices=indices,
        similarities=sims,
        correct=g_labels[indices] == q_labels[:, None],
        num_relevant=num_rel,
        rp=rp,
        ap=ap,
        first_hit=first_hit)
