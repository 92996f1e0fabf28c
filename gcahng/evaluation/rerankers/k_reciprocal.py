"""k-reciprocal re-ranking (Zhong et al., CVPR 2017) on sparse k-NN lists."""
from typing import Optional

import numpy as np
from scipy import sparse

from gcahng.registry import RERANKERS
from ..functional import FlatSearch
from .base import BaseReranker, PreparedGallery, flat_search, search_all


def _merge(ids_a: np.ndarray, sims_a: np.ndarray, ids_b: np.ndarray,
           sims_b: np.ndarray, width: int, own: np.ndarray) -> np.ndarray:
    """The ``width`` most similar of two disjoint neighbour lists per row,
    the row's own id ``own`` first."""
    ids = np.concatenate([ids_a, ids_b], axis=1)
    sims = np.concatenate([sims_a, sims_b], axis=1).astype(np.float64)
    sims[ids == own[:, None]] = np.inf
    order = np.argsort(-sims, axis=1, kind='stable')[:, :width]
    return np.take_along_axis(ids, order, axis=1)


@RERANKERS.register_module()
class KReciprocalReranking(BaseReranker):
    """k-reciprocal re-ranking (Zhong, Zheng, Cao and Li, CVPR 2017;
    docs/reranking.md) computed on sparse k-NN lists from faiss.

    On the set ``P`` = the gallery and the queries (in leave-one-out, the
    gallery alone), with ``N(i, k)`` the ``k`` nearest items of ``i`` and
    ``i`` itself (exact faiss k-NN):

    - ``R(i, k1) = {j in N(i, k1) : i in N(j, k1)}``;
    - ``R*(i) = R(i, k1)`` plus ``R(c, round(k1/2))`` for each ``c in R(i,
      k1)`` that shares more than 2/3 of it with ``R(i, k1)``;
    - ``V[i, j] = exp(-d(i, j)) / sum_{j' in R*(i)} exp(-d(i, j'))`` on
      ``R*(i)``, 0 elsewhere, with ``d = 1 - cos``; local query expansion
      ``V[i] <- mean_{j in N(i, k2 - 1)} V[j]``;
    - ``d_J(q, g) = 1 - sum min(V[q], V[g]) / sum max(V[q], V[g])`` and
      ``d* = (1 - lambda) d_J + lambda d``; results are sorted by
      ``1 - d*`` (the returned score).

    Departures from the paper's dense code: ``V`` is a sparse matrix and
    only the rows that the ranked pairs need are built; ``d_J`` is
    computed for each query's ``shortlist`` nearest gallery items only
    (an item outside them cannot enter the top); ``d = 1 - cos`` instead
    of the squared distance divided by its column maximum (which needs
    the dense matrix). As in the paper, the queries of one call join the
    neighbour lists (the probe set is part of ``P``): a query's ranking can
    depend on the other queries searched with it; the gallery's own lists
    are computed once per gallery.

    Time, with ``K = k1 + 1``, ``h = round(k1 / 2) + 1`` and ``L`` the
    shortlist: ``O(G^2 D)`` once per gallery (its k-NN lists), then per
    call ``O((Q + G) Q D)`` for the lists that involve the queries (none in
    leave-one-out), ``O(Q L)`` searches, ``O(n K^2 h)`` for the reciprocal
    sets of the ``n <= Q (L + 1) k2`` items involved and ``O(Q L s)`` for
    ``d_J`` (``s`` the non-zeros of a ``V`` row, at most ``k2 K h``).
    Memory: ``O((G + Q) K)`` for the lists, ``O(n s)`` for ``V``, no
    ``Q x G`` or ``(Q + G)^2`` matrix.

    Args:
        k1 (int): Depth of the k-reciprocal sets. Defaults to 20.
        k2 (int): Neighbours (the item included) of the local query
            expansion. Defaults to 6.
        lambda_value (float): Weight of the original distance. Defaults to
            0.3.
        shortlist (int): Gallery items re-ranked per query (at least the
            ``k`` asked for). Defaults to 100.
        chunk_size (int): Items processed at once. Defaults to 1024.
    """

    def __init__(self,
                 k1: int = 20,
                 k2: int = 6,
                 lambda_value: float = 0.3,
                 shortlist: int = 100,
                 chunk_size: int = 1024) -> None:
        if k1 < 1 or k2 < 1 or shortlist < 1 or chunk_size < 1:
            raise ValueError('KReciprocalReranking needs k1, k2, shortlist '
                             f'and chunk_size >= 1, got {k1}, {k2}, '
                             f'{shortlist}, {chunk_size}')
        if not 0.0 <= lambda_value <= 1.0:
            raise ValueError('KReciprocalReranking needs 0 <= lambda_value '
                             f'<= 1, got {lambda_value}')
        super().__init__(
            k1=int(k1),
            k2=int(k2),
            lambda_value=float(lambda_value),
            shortlist=int(shortlist))
        self.chunk_size = int(chunk_size)

    # ------------------------------------------------------------------
    def prepare(self,
                gallery: np.ndarray,
                index: Optional[FlatSearch] = None) -> PreparedGallery:
        """The gallery's own neighbour lists ``[G, min(k1, G - 1) + 1]``
        (itself first) and their similarities."""
        index = index or flat_search(gallery)
        n = len(gallery)
        width = min(self.params['k1'], n - 1)
        ids = np.empty((n, width + 1), dtype=np.int64)
        sims = np.empty((n, width + 1), dtype=np.float32)
        ids[:, 0] = np.arange(n)
        sims[:, 0] = 1.0
        if width:
            ids[:, 1:], sims[:, 1:] = search_all(index, gallery, width,
                                                 np.arange(n))
        return PreparedGallery(gallery, index, ids=ids, sims=sims)

    def _union_lists(self, prepared: PreparedGallery,
                     query: np.ndarray) -> np.ndarray:
        """Neighbour lists ``[G + Q, K]`` of the gallery and the queries
        together (query ``j`` has id ``G + j``), each item first."""
        g, q = prepared.size, len(query)
        width = min(self.params['k1'], g + q - 1) + 1
        by_query = flat_search(query)
        near_q = min(width, q)
        g_ids, g_sims = search_all(by_query, prepared.vectors, near_q)
        gallery_rows = _merge(prepared.extra['ids'], prepared.extra['sims'],
                              g_ids + g, g_sims, width, np.arange(g))
        qg_ids, qg_sims = search_all(prepared.index, query, min(width, g))
        qq_ids, qq_sims = search_all(by_query, query, near_q)
        query_rows = _merge(qg_ids, qg_sims, qq_ids + g, qq_sims, width,
                            g + np.arange(q))
        return np.concatenate([gallery_rows, query_rows])

    def _reciprocal_sets(self, lists: np.ndarray, rows: np.ndarray,
                         vector) -> sparse.csr_matrix:
        """``V`` for ``rows`` (sorted ids): sparse ``[len(rows), |P|]``,
        each row a distribution over ``R*(i)``."""
        width = lists.shape[1]
        half = min(int(np.around(self.params['k1'] / 2.0)), width - 1) + 1
        out_rows, out_cols = [], []
        for start in range(0, len(rows), self.chunk_size):
            ids = rows[start:start + self.chunk_size]
            fwd = lists[ids]  # [n, K]
            recip = (lists[fwd] == ids[:, None, None]).any(-1)  # R(i, k1)
            fwd_h = lists[fwd][:, :, :half]  # [n, K, h]: N(c, k1/2)
            recip_h = (lists[fwd_h][..., :half] == fwd[..., None, None]).any(
                -1)  # R(c, k1/2)
            in_r = ((fwd_h[..., None] == fwd[:, None, None, :])
                    & recip[:, None, None, :]).any(-1)
            shared = (in_r & recip_h).sum(-1)
            expand = recip & (shared > 2.0 / 3.0 * recip_h.sum(-1))
            local = np.arange(start, start + len(ids))
            keep = recip
            out_rows.append(np.broadcast_to(local[:, None], fwd.shape)[keep])
            out_cols.append(fwd[keep])
            extra = expand[..., None] & recip_h
            out_rows.append(
                np.broadcast_to(local[:, None, None], fwd_h.shape)[extra])
            out_cols.append(fwd_h[extra])
        num_items = len(lists)
        key = np.unique(
            np.concatenate(out_rows) * num_items + np.concatenate(out_cols))
        r, c = key // num_items, key % num_items
        weight = np.empty(len(r), dtype=np.float32)
        for start in range(0, len(r), self.chunk_size * 64):
            sl = slice(start, start + self.chunk_size * 64)
            cos = np.einsum('nd,nd->n', vector(rows[r[sl]]), vector(c[sl]))
            weight[sl] = np.exp(cos - 1.0)  # exp(-(1 - cos))
        v = sparse.csr_matrix((weight, (r, c)), shape=(len(rows), num_items))
        total = np.asarray(v.sum(axis=1)).ravel()
        return sparse.diags(1.0 / total).dot(v).tocsr()

    def _rank(self, prepared, query, k, exclude):
        """See :meth:`BaseReranker.search`; ``exclude`` makes the queries
        the gallery items they are (the set ``P`` is then the gallery)."""
        g = prepared.size
        depth = min(
            max(self.params['shortlist'], k), g - int(exclude is not None))
        cand, cand_sims = search_all(prepared.index, query, depth, exclude)
        if exclude is not None:
            lists, own = prepared.extra['ids'], np.asarray(exclude)

            def vector(ids: np.ndarray) -> np.ndarray:
                return prepared.vectors[ids]
        else:
            lists, own = self._union_lists(prepared, query), \
                g + np.arange(len(query))

            def vector(ids: np.ndarray) -> np.ndarray:
                out = np.empty((len(ids), query.shape[1]), dtype=np.float32)
                in_gallery = ids < g
                out[in_gallery] = prepared.vectors[ids[in_gallery]]
                out[~in_gallery] = query[ids[~in_gallery] - g]
                return out

        k2 = min(self.params['k2'], lists.shape[1])
        ranked = np.unique(np.concatenate([own, cand.ravel()]))
        needed = np.unique(lists[ranked, :k2])
        v = self._reciprocal_sets(lists, needed, vector)
        expansion = sparse.csr_matrix(
            (np.full(len(ranked) * k2, 1.0 / k2),
             (np.repeat(np.arange(len(ranked)), k2),
              np.searchsorted(needed, lists[ranked, :k2].ravel()))),
            shape=(len(ranked), len(needed)))
        v_qe = expansion.dot(v).tocsr()
        q_pos = np.searchsorted(ranked, own)
        c_pos = np.searchsorted(ranked, cand)
        jaccard = np.empty(cand.shape, dtype=np.float64)
        step = max(1, self.chunk_size * 16 // depth)
        for start in range(0, len(query), step):
            stop = min(start + step, len(query))
            a = v_qe[np.repeat(q_pos[start:stop], depth)]
            b = v_qe[c_pos[start:stop].ravel()]
            common = np.asarray(a.minimum(b).sum(axis=1)).ravel()
            jaccard[start:stop] = (1.0 - common / (2.0 - common)).reshape(
                -1, depth)
        lam = self.params['lambda_value']
        score = 1.0 - ((1.0 - lam) * jaccard + lam * (1.0 - cand_sims))
        order = np.argsort(-score, axis=1, kind='stable')[:, :k]
        return (np.take_along_axis(cand, order, axis=1),
                np.take_along_axis(score, order, axis=1).astype(np.float32))
