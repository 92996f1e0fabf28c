"""A searchable gallery: embeddings, their image paths and labels, and the
identity of the model that embedded them, saved in one ``.npz`` file."""
import json
import math
import os
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from gcahng.engine.hooks.atomic_checkpoint_hook import atomic_open
from gcahng.evaluation.functional import (_drop_self, _import_faiss,
                                          as_embeddings, nearest_neighbours)
from gcahng.utils.cli import UserError

#: ``format`` entry of a saved index.
INDEX_FORMAT = 'gcahng-gallery-index-1'
#: Index kinds: exact inner product, faiss IVF and faiss HNSW.
INDEX_KINDS = ('flat', 'ivf', 'hnsw')


class IndexMismatchError(UserError, ValueError):
    """A saved index was built by another model (or is no gallery index)."""


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
    search as the retrieval metric (:func:`gcahng.evaluation.functional.
    nearest_neighbours`; faiss GPU when faiss sees one and ``use_gpu``,
    torch without faiss). For galleries of millions, ``'ivf'`` (inverted
    lists: ``nlist`` k-means cells, ``nprobe`` of them visited per query)
    and ``'hnsw'`` (a graph of ``hnsw_m`` links per node, ``ef_search``
    candidates) are approximate faiss indices; IVF moves to the GPU when
    ``use_gpu`` and faiss sees one.

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

    # ------------------------------------------------------------------
    def search(self,
               queries: np.ndarray,
               k: int,
               exclude_self: bool = False) -> Tuple[np.ndarray, np.ndarray]:
        """The ``k`` most similar gallery items of each query.

        Args:
            queries (ndarray): ``[Q, D]`` query embeddings (normalised
                here).
            k (int): Neighbours per query (clipped to the gallery size).
            exclude_self (bool): The queries are the gallery itself, in
                order: each is left out of its own ranking by index, as the
                leave-one-out metric does.

        Returns:
            tuple: ``indices [Q, k]`` (gallery positions, most similar
            first) and ``scores [Q, k]`` (cosine similarities).
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
        if self.kind == 'flat':
            idx = np.concatenate([
                chunk for _, chunk in nearest_neighbours(
                    q,
                    k,
                    None if exclude_self else self.embeddings,
                    device=None if self.use_gpu else 'cpu')
            ])
            scores = np.einsum('qd,qkd->qk', q, self.embeddings[idx])
            return idx, scores.astype(np.float32)
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
