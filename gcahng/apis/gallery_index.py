"""A searchable gallery: embeddings, their image paths and labels, and the
identity of the model that embedded them, saved in one ``.npz`` file."""
import json
import math
import os
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from gcahng.engine.fileio import atomic_open
from gcahng.evaluation.functional import (FAISS_GPU_MAX_K, FlatSearch,
                                          _drop_self, _import_faiss,
                                          _select_backend, as_embeddings)
from gcahng.evaluation.rerankers import BaseReranker, build_reranker
from gcahng.utils.cli import UserError

#: ``format`` entry of a saved index.
INDEX_FORMAT = 'gcahng-gallery-index-1'
#: Index kinds: exact inner product, faiss IVF and faiss HNSW.
INDEX_KINDS = ('flat', 'ivf', 'hnsw')


class IndexMismatchError(UserError, ValueError):
    """A saved index was built by another model (or is no gallery index)."""


class IndexKindError(UserError, ValueError):
    """The index cannot do what is asked (re-ranking an approximate one)."""


def identity_difference(saved: Dict[str, Any],
                        own: Dict[str, Any]) -> Optional[str]:
    """What differs between two model identities (None if they agree on
    the weights, the embedding size and the preprocessing)."""
    for key, what in (('weights_sha256', 'weights'),
                      ('embed_dim', 'embedding size'), ('preprocess',
                                                        'preprocessing')):
        if saved.get(key) != own.get(key):
            return (f'{what} differ: index {saved.get(key)!r} vs model '
                    f'{own.get(key)!r}')
    return None


class GalleryIndex:
    """Gallery embeddings ready for k-nearest-neighbour search by cosine
    similarity (inner product of L2-normalised embeddings).

    ``kind='flat'`` (default) is exact: the same faiss ``IndexFlatIP``
    search as the retrieval metric (:class:`gcahng.evaluation.functional.
    FlatSearch`; faiss GPU when faiss sees one and ``use_gpu``, torch
    without faiss), built on the first search and kept: a search builds
    nothing and copies nothing of the gallery, and its scores are faiss's.
    For galleries of millions, ``'ivf'`` (inverted lists: ``nlist``
    k-means cells, ``nprobe`` of them visited per query) and ``'hnsw'`` (a
    graph of ``hnsw_m`` links per node, ``ef_search`` candidates) are
    approximate faiss indices; IVF moves to the GPU when ``use_gpu`` and
    faiss sees one. A flat index can re-rank its results
    (``search(..., rerank=...)``, docs/reranking.md).

    Args:
        embeddings (ndarray): ``[N, D]`` gallery embeddings (normalised
            here).
        paths (Sequence[str]): The ``N`` image paths.
        labels (Sequence, optional): ``N`` labels (ints or strings).
        identity (dict, optional): The embedding model's identity (see
            ``ImageSearcher.identity``); a saved index is only loaded by a
            model with the same one.
        kind (str): ``'flat'``, ``'ivf'`` or ``'hnsw'``.
        nlist (int, optional): IVF cells; default ``4 sqrt(N)``, at most
            ``N / 39`` (faiss wants 39 training points per cell).
        nprobe (int): IVF cells searched per query. Defaults to 16.
        hnsw_m (int): HNSW links per node. Defaults to 32.
        ef_search (int): HNSW search depth (at least ``k`` is used).
            Defaults to 128.
        use_gpu (bool): Search on a GPU when faiss sees one.
    """

    def __init__(self,
                 embeddings: np.ndarray,
                 paths: Sequence[str],
                 labels: Optional[Sequence] = None,
                 identity: Optional[Dict[str, Any]] = None,
                 kind: str = 'flat',
                 nlist: Optional[int] = None,
                 nprobe: int = 16,
                 hnsw_m: int = 32,
                 ef_search: int = 128,
                 use_gpu: bool = False) -> None:
        if kind not in INDEX_KINDS:
            raise ValueError(f'index kind must be one of {INDEX_KINDS}, got '
                             f'{kind!r}')
        self.paths = [str(p) for p in paths]
        self.labels = None if labels is None else list(
            np.asarray(labels).tolist())
        self.identity = dict(identity or {})
        self.kind = kind
        self.use_gpu = use_gpu
        self.params = dict(nprobe=nprobe, hnsw_m=hnsw_m, ef_search=ef_search)
        self.embeddings: Optional[np.ndarray] = None
        self._faiss_index = None
        self._flat: Dict[str, FlatSearch] = {}
        self._prepared: Dict[tuple, Any] = {}
        if embeddings is None:  # filled by load()
            return
        emb = as_embeddings(embeddings, 'gallery embeddings')
        if len(emb) != len(self.paths):
            raise ValueError(f'{len(emb)} embeddings for {len(self.paths)} '
                             'paths')
        if self.labels is not None and len(self.labels) != len(self.paths):
            raise ValueError(f'{len(self.labels)} labels for '
                             f'{len(self.paths)} paths')
        if len(emb) == 0:
            raise ValueError('the gallery is empty')
        self.dim = emb.shape[1]
        if kind == 'flat':
            self.embeddings = emb
        else:
            self._faiss_index = self._build_faiss(emb, nlist)

    # ------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.paths)

    def _faiss(self):
        faiss = _import_faiss()
        if faiss is None:
            raise ImportError(f'a {self.kind!r} index needs faiss: pip '
                              'install faiss-cpu (or faiss-gpu)')
        return faiss

    def _build_faiss(self, emb: np.ndarray, nlist: Optional[int]):
        faiss = self._faiss()
        n, dim = emb.shape
        if self.kind == 'hnsw':
            index = faiss.IndexHNSWFlat(dim, self.params['hnsw_m'],
                                        faiss.METRIC_INNER_PRODUCT)
        else:
            if nlist is None:
                nlist = max(1, min(int(4 * math.sqrt(n)), n // 39))
            if nlist > n:
                raise ValueError(f'IVF with nlist={nlist} needs at least '
                                 f'{nlist} gallery images, got {n}')
            self.params['nlist'] = int(nlist)
            quantizer = faiss.IndexFlatIP(dim)
            index = faiss.IndexIVFFlat(quantizer, dim, int(nlist),
                                       faiss.METRIC_INNER_PRODUCT)
            if nlist == 1:  # one cell (a tiny gallery): its mean, no k-means
                index.cp.min_points_per_centroid = 1  # to warn about
            index = self._maybe_gpu(index)
            index.train(emb)
        index.add(emb)
        return index

    def _maybe_gpu(self, index):
        """``index`` on GPU 0 when asked for and faiss sees a GPU (IVF)."""
        faiss = self._faiss()
        if not self.use_gpu or self.kind != 'ivf' or not hasattr(
                faiss, 'get_num_gpus') or faiss.get_num_gpus() == 0:
            return index
        self._gpu_resources = faiss.StandardGpuResources()
        return faiss.index_cpu_to_gpu(self._gpu_resources, 0, index)

    def _flat_search(self, k: int) -> FlatSearch:
        """The flat index's search, built once (on the GPU when asked for
        and ``k`` fits faiss GPU's limit, else on the CPU)."""
        gpu = self.use_gpu and k <= FAISS_GPU_MAX_K
        where = 'gpu' if gpu else 'cpu'
        if where not in self._flat:
            backend, device = _select_backend(None if gpu else 'cpu', k)
            self._flat[where] = FlatSearch(self.embeddings, backend, device)
        return self._flat[where]

    # ------------------------------------------------------------------
    def search(
        self,
        queries: np.ndarray,
        k: int,
        exclude_self: bool = False,
        rerank: Union[None, str, dict, BaseReranker] = None
    ) -> Tuple[np.ndarray, np.ndarray]:
        """The ``k`` most similar gallery items of each query.

        Args:
            queries (ndarray): ``[Q, D]`` query embeddings (normalised
                here).
            k (int): Neighbours per query (clipped to the gallery size).
            exclude_self (bool): The queries are the gallery itself, in
                order: each is left out of its own ranking by index, as the
                leave-one-out metric does.
            rerank (str | dict | BaseReranker, optional): Re-rank (flat
                index only): ``'qe'``, ``'dba'``, ``'k_reciprocal'`` or a
                re-ranker (docs/reranking.md). Its gallery-side work is
                done on the first search and kept.

        Returns:
            tuple: ``indices [Q, k]`` (gallery positions, most similar
            first) and ``scores [Q, k]`` (cosine similarities; with
            ``rerank``, the re-ranker's scores).
        """
        q = as_embeddings(queries, 'query embeddings')
        if q.shape[1] != self.dim:
            raise ValueError(f'query embeddings have {q.shape[1]} dims, the '
                             f'index {self.dim}')
        if exclude_self and len(q) != len(self):
            raise ValueError('exclude_self needs the gallery as queries')
        k = min(int(k), len(self) - int(exclude_self))
        if k < 1:
            raise ValueError('k must be >= 1 and the gallery must have '
                             'another item')
        own = np.arange(len(q)) if exclude_self else None
        reranker = build_reranker(rerank)
        if reranker is not None:
            return self._reranked(reranker, q, k, own)
        if self.kind == 'flat':
            return self._flat_search(k).search(q, k, own)
        if self.kind == 'ivf':
            self._faiss_index.nprobe = self.params['nprobe']
        else:
            self._faiss_index.hnsw.efSearch = max(self.params['ef_search'],
                                                  k + 1)
        scores, idx = self._faiss_index.search(q, k + int(exclude_self))
        idx = idx.astype(np.int64)
        if exclude_self:
            idx, scores = _drop_self(idx, np.arange(len(q)), scores)
        return idx, scores.astype(np.float32)

    def _reranked(self, reranker: BaseReranker, q: np.ndarray, k: int,
                  own: Optional[np.ndarray]) -> Tuple[np.ndarray, np.ndarray]:
        """Search through ``reranker``, its prepared gallery kept (one at a
        time: DBA's is a second copy of the gallery)."""
        if self.kind != 'flat':
            raise IndexKindError(
                f're-ranking needs the gallery embeddings: a flat index, '
                f'not {self.kind!r} (build it with --index-type flat)')
        key = reranker.cache_key()
        if key not in self._prepared:
            self._prepared = {
                key: reranker.prepare(self.embeddings, self._flat_search(1))
            }
        return reranker.search(self._prepared[key], q, k, own)

    # ------------------------------------------------------------------
    def save(self, path: str) -> str:
        """Write the index, paths, labels and model identity to ``path``
        (one ``.npz``, no pickled objects)."""
        arrays: Dict[str, np.ndarray] = dict(
            format=np.array(INDEX_FORMAT),
            kind=np.array(self.kind),
            paths=np.array(self.paths, dtype=np.str_),
            identity=np.array(json.dumps(self.identity, sort_keys=True)),
            params=np.array(json.dumps(self.params, sort_keys=True)),
            dim=np.array(self.dim))
        if self.labels is not None:
            arrays['labels'] = np.asarray(self.labels)
        if self.kind == 'flat':
            arrays['embeddings'] = self.embeddings
        else:
            faiss = self._faiss()
            index = self._faiss_index
            if hasattr(faiss,
                       'index_gpu_to_cpu') and 'Gpu' in type(index).__name__:
                index = faiss.index_gpu_to_cpu(index)
            arrays['faiss_index'] = faiss.serialize_index(index)
        os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
        with atomic_open(path, 'wb') as f:
            np.savez(f, **arrays)
        return path

    @classmethod
    def load(cls,
             path: str,
             identity: Optional[Dict[str, Any]] = None,
             use_gpu: bool = False) -> 'GalleryIndex':
        """Read an index written by :meth:`save`.

        Args:
            path (str): The ``.npz`` file.
            identity (dict, optional): The identity of the model that will
                embed the queries; an index built by another model is
                refused with :class:`IndexMismatchError`.
            use_gpu (bool): Search on a GPU when faiss sees one.
        """
        if not osp.isfile(path):
            raise FileNotFoundError(f'no index file at {path}')
        try:
            data = np.load(path, allow_pickle=False)
            fmt = str(data['format'])
        except (ValueError, KeyError, OSError) as err:
            raise IndexMismatchError(
                f'{path} is not a gallery index written by '
                f'GalleryIndex.save ({type(err).__name__}: {err})') from None
        if fmt != INDEX_FORMAT:
            raise IndexMismatchError(f'{path}: unknown index format {fmt!r}, '
                                     f'expected {INDEX_FORMAT!r}')
        saved = json.loads(str(data['identity']))
        if identity is not None:
            problem = identity_difference(saved, identity)
            if problem is not None:
                raise IndexMismatchError(
                    f'{path} was built by another model ({problem}; built '
                    f'from {saved.get("checkpoint")!r}); rebuild it with '
                    'this model (tools/embed.py ... --index)')
        kind = str(data['kind'])
        params = json.loads(str(data['params']))
        index = cls(
            None,
            data['paths'].tolist(),
            data['labels'] if 'labels' in data.files else None,
            saved,
            kind,
            nprobe=params.get('nprobe', 16),
            hnsw_m=params.get('hnsw_m', 32),
            ef_search=params.get('ef_search', 128),
            use_gpu=use_gpu)
        index.params = params
        index.dim = int(data['dim'])
        if kind == 'flat':
            index.embeddings = np.ascontiguousarray(
                data['embeddings'], dtype=np.float32)
        else:
            faiss = index._faiss()
            index._faiss_index = index._maybe_gpu(
                faiss.deserialize_index(data['faiss_index']))
        return index

    def describe(self) -> List[str]:
        """One line per fact, for tools' logs."""
        return [
            f'{self.kind} index of {len(self)} images, {self.dim}-d',
            f'labels: {"yes" if self.labels is not None else "no"}',
            f'model: {self.identity.get("checkpoint")}',
        ]
