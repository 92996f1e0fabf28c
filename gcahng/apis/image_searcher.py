"""Image search with a trained model: embed images, index a gallery, query.

See the README, "Use a trained model".
"""
import copy
import hashlib
import json
import os.path as osp
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.utils import ProgressBar
from torch.utils.data import DataLoader, Dataset

from gcahng.datasets.csv_dataset import find_images, folder_class
from gcahng.datasets.image_checks import image_problem
from gcahng.evaluation.rerankers import BaseReranker, build_reranker
from gcahng.utils import UserError
from gcahng.utils.checkpoint_fit import INFERENCE_PREFIXES, load_checkpoint
from .builders import build_model, load_config
from .embedding_model import EmbeddingModel
from .gallery_index import GalleryIndex
from .inference_pipeline import LOADING_STEPS, inference_pipeline

#: What ``embed`` and ``search`` accept: a file, a folder, a list of files,
#: an image array (``HxWx3`` BGR, as ``mmcv.imread``) or a list of arrays.
ImageInput = Union[str, np.ndarray, Sequence[Union[str, np.ndarray]]]
#: ``search(rerank=...)``'s default: the searcher's re-ranking.
SEARCHER_RERANK = object()
#: How a user loads a checkpoint that only partly fits (named in the error).
NON_STRICT = '--non-strict (ImageSearcher(strict=False))'


class ImageInputError(UserError, ValueError):
    """An input image cannot be found or decoded (one-line message)."""


@dataclass
class SearchResult:
    """The top-k gallery images of one query.

    Attributes:
        query (str | int): The query's path, or its position for arrays.
        paths (list[str]): Gallery paths, most similar first.
        scores (list[float]): Their cosine similarity to the query.
        labels (list, optional): Their labels, when the gallery has labels.
        indices (list[int]): Their positions in the gallery.
        query_label (optional): The query's label, when known.
    """
    query: Union[str, int]
    paths: List[str]
    scores: List[float]
    labels: Optional[List[Any]]
    indices: List[int]
    query_label: Optional[Any] = None
    correct: Optional[List[bool]] = field(default=None)

    def to_dict(self) -> dict:
        """A JSON-serialisable dict."""
        return asdict(self)


class _Images(Dataset):
    """Items (paths or arrays) through the test pipeline."""

    def __init__(self, items: Sequence[Union[str, np.ndarray]],
                 pipeline: List[dict]) -> None:
        self.items = items
        self.load = Compose(copy.deepcopy(pipeline))
        self.from_array = Compose([
            t for t in copy.deepcopy(pipeline)
            if t.get('type') not in LOADING_STEPS
        ])

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict:
        item = self.items[i]
        if isinstance(item, np.ndarray):
            shape = item.shape[:2]
            return self.from_array(
                dict(img=item, img_shape=shape, ori_shape=shape))
        try:
            result = self.load(dict(img_path=item))
        except Exception as err:
            problem = image_problem(item) or f'{type(err).__name__}: {err}'
            raise ImageInputError(f'{item}: {problem}') from None
        if result is None:
            raise ImageInputError(f'{item}: {image_problem(item)}')
        return result


def resolve_images(
        inputs: ImageInput) -> Tuple[List[Union[str, np.ndarray]], list]:
    """The images of ``inputs`` and their labels.

    A folder gives every image under it (sorted); its labels are the class
    folders when every image is in one (an ``ImageFolder`` tree), else None.
    Other inputs have no labels.

    Returns:
        tuple: ``items`` (paths or arrays) and ``labels`` (a list, or None).
    """
    if isinstance(inputs, np.ndarray) and inputs.ndim == 3:
        return [inputs], None
    if isinstance(inputs, str):
        if osp.isdir(inputs):
            items = find_images(inputs)
            if not items:
                raise ImageInputError(f'{inputs}: a folder without images')
            labels = [folder_class(inputs, p) for p in items]
            return items, None if None in labels else labels
        if not osp.isfile(inputs):
            raise ImageInputError(f'{inputs}: no such image file or folder')
        return [inputs], None
    items = list(inputs)
    for item in items:
        if isinstance(item, str) and not osp.isfile(item):
            raise ImageInputError(f'{item}: no such image file')
    if not items:
        raise ImageInputError('no images given')
    return items, None


def state_sha256(module: torch.nn.Module) -> str:
    """SHA-256 of a module's state dict (names, dtypes, shapes, values)."""
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        digest.update(f'{name}:{t.dtype}:{tuple(t.shape)};'.encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


class ImageSearcher:
    """Embed images with a trained model and search a gallery with them.

    Built from a config and a checkpoint (``tools/train.py``'s, an inference
    checkpoint without the training-only graph head / classifier /
    generator / proxies, or an official GCA-HNG checkpoint converted by
    ``tools/model_converters/gcahng_official_to_mmengine.py``), read once
    with the weights-only unpickler. Only the backbone and the neck are
    loaded, and they must fit the config's model strictly
    (:func:`gcahng.utils.checkpoint_fit.load_checkpoint`); the other
    modules of the checkpoint (the training-only graph head, classifier,
    generator, proxies, whose shapes follow the training classes) are
    skipped, in one logged line, so a checkpoint serves any config of its
    architecture. Images go through :func:`inference_pipeline` (the
    config's test resize / crop, with a file loader whatever data the model
    was trained on) and the model's data preprocessor, then
    :class:`EmbeddingModel` (``e = z / ||z||``), in batches on a
    ``DataLoader`` with ``num_workers`` workers; with ``amp`` (default on
    a GPU) under float16 autocast. ``rerank`` re-ranks every search
    (docs/reranking.md).

    Args:
        config (str | Config): The training config.
        checkpoint (str, optional): The weights (None: the config's
            initialisation, for tests).
        device (str, optional): ``'cpu'``, ``'cuda'``, ``'cuda:1'``; default
            CUDA when available.
        batch_size (int, optional): Images per batch; default the config's
            test batch size.
        num_workers (int, optional): Loader workers; default the config's.
        amp (bool, optional): float16 autocast on a GPU; default True on a
            GPU, always off on the CPU.
        cfg_options (dict, optional): Config overrides.
        strict (bool): Refuse a checkpoint whose backbone or neck only
            partly fits.
        progress (bool): Show a progress bar while embedding.
        rerank (str | dict | BaseReranker, optional): Re-rank searches:
            ``'qe'``, ``'dba'``, ``'k_reciprocal'`` or a re-ranker config
            (``gcahng.evaluation.rerankers``); default None (cosine
            ranking).

    Examples:
        >>> from gcahng.apis import ImageSearcher
        >>> searcher = ImageSearcher('configs/gcahng/r50_pa_cub.py',
        ...                          'work_dirs/r50_pa_cub/best.pth')
        >>> searcher.build_index('photos/')      # a folder, paths or arrays
        >>> searcher.save_index('photos.index.npz')
        >>> hits = searcher.search('query.jpg', k=5)[0]
        >>> hits.paths, hits.scores
    """

    def __init__(self,
                 config: Union[str, Config],
                 checkpoint: Optional[str] = None,
                 device: Optional[str] = None,
                 batch_size: Optional[int] = None,
                 num_workers: Optional[int] = None,
                 amp: Optional[bool] = None,
                 cfg_options: Optional[Dict[str, Any]] = None,
                 strict: bool = True,
                 progress: bool = True,
                 rerank: Union[None, str, dict, BaseReranker] = None) -> None:
        cfg = load_config(config, cfg_options)
        self.cfg = cfg
        self.config_name = config if isinstance(config, str) else \
            cfg.filename
        self.checkpoint = checkpoint
        self.device = torch.device(
            device or ('cuda' if torch.cuda.is_available() else 'cpu'))
        self.pipeline = inference_pipeline(cfg, str(self.config_name))
        self.model = build_model(
            cfg,
            device=self.device,
            config_path=str(self.config_name),
            init_weights=checkpoint is None)
        self.embedder = EmbeddingModel(self.model)
        if checkpoint is not None:
            self._load(checkpoint, strict)
        self.embedder.eval()
        self.rerank = build_reranker(rerank)
        loader = cfg.get('test_dataloader') or {}
        self.batch_size = int(batch_size or loader.get('batch_size', 32))
        self.num_workers = int(
            loader.get('num_workers', 0) if num_workers is
            None else num_workers)
        self.amp = (self.device.type == 'cuda') if amp is None else (
            bool(amp) and self.device.type == 'cuda')
        self.progress = progress
        self.index: Optional[GalleryIndex] = None
        self._identity: Optional[Dict[str, Any]] = None

    def _load(self, checkpoint: str, strict: bool) -> None:
        """Load the backbone and neck of ``checkpoint`` (strictly unless
        ``strict=False``); say in one line what is skipped."""
        load_checkpoint(
            self.embedder,
            checkpoint,
            strict=strict,
            prefixes=INFERENCE_PREFIXES,
            optional_prefixes=(),
            allow_flag=NON_STRICT,
            source=f'{checkpoint} (its backbone and neck)')

    # ------------------------------------------------------------------
    # the model
    @property
    def identity(self) -> Dict[str, Any]:
        """What makes two embeddings comparable: the inference weights'
        SHA-256, the embedding size and the preprocessing (pipeline, mean,
        std). The checkpoint and config names are informative only."""
        if self._identity is None:
            pre = self.model.data_preprocessor
            preprocess = dict(
                pipeline=[
                    t for t in self.pipeline
                    if t.get('type') not in ('PackInputs', ) + LOADING_STEPS
                ],
                mean=_tolist(getattr(pre, 'mean', None)),
                std=_tolist(getattr(pre, 'std', None)),
                to_rgb=bool(getattr(pre, 'to_rgb', False)))
            self._identity = dict(
                weights_sha256=state_sha256(self.embedder),
                embed_dim=getattr(
                    getattr(self.model.neck, 'fc', None), 'out_features',
                    None),
                preprocess=json.loads(json.dumps(preprocess)),
                checkpoint=self.checkpoint,
                config=self.config_name,
                model=type(self.model).__name__)
        return self._identity

    def preprocess(self, batch: List[dict]) -> torch.Tensor:
        """Collated pipeline outputs -> the model's normalised inputs."""
        data = self.model.data_preprocessor(pseudo_collate(batch), False)
        return data['inputs']

    def loader(self, items: Sequence[Union[str, np.ndarray]]) -> DataLoader:
        """A ``DataLoader`` running the test pipeline over ``items``."""
        workers = self.num_workers if all(isinstance(i, str)
                                          for i in items) else 0
        return DataLoader(
            _Images(items, self.pipeline),
            batch_size=self.batch_size,
            shuffle=False,
            num_workers=workers,
            collate_fn=list,
            persistent_workers=False)

    @torch.no_grad()
    def iter_embed(
        self, items: Sequence[Union[str, np.ndarray]]
    ) -> Iterator[Tuple[int, np.ndarray]]:
        """Yield ``(start, embeddings [b, D])`` batch by batch, so that a
        caller can stream a gallery: no image outlives its batch."""
        bar = ProgressBar(len(items)) if self.progress else None
        autocast = torch.autocast('cuda', dtype=torch.float16) \
            if self.amp else nullcontext()
        start = 0
        for batch in self.loader(items):
            inputs = self.preprocess(batch)
            with autocast:
                emb = self.embedder(inputs)
            emb = emb.float().cpu().numpy()
            yield start, emb
            start += len(emb)
            if bar is not None:
                bar.update(len(emb))
        if bar is not None:
            bar.file.write('\n')
            bar.file.flush()

    def embed(self, inputs: ImageInput) -> np.ndarray:
        """L2-normalised float32 embeddings ``[N, D]`` of the images of
        ``inputs`` (see :func:`resolve_images`), in their order."""
        items, _ = resolve_images(inputs)
        return self._embed_items(items)

    def _embed_items(self, items: Sequence) -> np.ndarray:
        out = None
        for start, emb in self.iter_embed(items):
            if out is None:
                out = np.empty((len(items), emb.shape[1]), dtype=np.float32)
            out[start:start + len(emb)] = emb
        return out

    # ------------------------------------------------------------------
    # the gallery
    def build_index(self,
                    gallery: ImageInput,
                    labels: Optional[Sequence] = None,
                    kind: str = 'flat',
                    use_gpu: Optional[bool] = None,
                    **index_kwargs) -> GalleryIndex:
        """Embed the gallery and index it (see :class:`GalleryIndex` for
        ``kind`` (``'flat'``, ``'ivf'``, ``'hnsw'``) and its options).

        Args:
            gallery: A folder (labels from its class folders), image paths
                or arrays.
            labels (Sequence, optional): One label per image (overrides the
                folder's).
            use_gpu (bool, optional): faiss on a GPU when it sees one;
                default: when the searcher runs on a GPU.
        """
        items, folder_labels = resolve_images(gallery)
        if labels is None:
            labels = folder_labels
        elif len(labels) != len(items):
            raise ValueError(f'{len(labels)} labels for {len(items)} '
                             'gallery images')
        paths = [
            p if isinstance(p, str) else f'<array {i}>'
            for i, p in enumerate(items)
        ]
        self.index = self.index_embeddings(
            self._embed_items(items),
            paths,
            labels,
            kind=kind,
            use_gpu=use_gpu,
            **index_kwargs)
        return self.index

    def index_embeddings(self,
                         embeddings: np.ndarray,
                         paths: Sequence[str],
                         labels: Optional[Sequence] = None,
                         kind: str = 'flat',
                         use_gpu: Optional[bool] = None,
                         **index_kwargs) -> GalleryIndex:
        """Index embeddings made by this model (e.g. by ``tools/embed.py``)
        as the searcher's gallery."""
        if use_gpu is None:
            use_gpu = self.device.type == 'cuda'
        self.index = GalleryIndex(
            embeddings,
            paths,
            labels,
            self.identity,
            kind,
            use_gpu=use_gpu,
            **index_kwargs)
        return self.index

    def save_index(self, path: str) -> str:
        """Save the gallery index with its paths, labels and the model's
        identity."""
        if self.index is None:
            raise RuntimeError('no index to save: call build_index first')
        return self.index.save(path)

    def load_index(self, path: str) -> GalleryIndex:
        """Load a saved index; one built by another model is refused
        (:class:`~gcahng.apis.gallery_index.IndexMismatchError`)."""
        self.index = GalleryIndex.load(
            path, self.identity, use_gpu=self.device.type == 'cuda')
        return self.index

    # ------------------------------------------------------------------
    # search
    def search(self,
               queries: ImageInput,
               k: int = 10,
               query_labels: Optional[Sequence] = None,
               exclude_self: bool = False,
               rerank: Any = SEARCHER_RERANK) -> List[SearchResult]:
        """The ``k`` most similar gallery images of each query.

        Args:
            queries: An image, a folder (labels from its class folders),
                paths or arrays.
            k (int): Results per query (at most the gallery size).
            query_labels (Sequence, optional): One label per query; with
                gallery labels, each result says whether it is ``correct``.
            exclude_self (bool): The queries are the gallery (same images,
                same order): each query is left out of its own results, as
                in the leave-one-out evaluation.
            rerank: This search's re-ranking (see ``ImageSearcher``);
                default the searcher's.
        """
        self._require_index()
        items, folder_labels = resolve_images(queries)
        return self.search_embeddings(
            self._embed_items(items),
            k,
            queries=[
                item if isinstance(item, str) else i
                for i, item in enumerate(items)
            ],
            query_labels=folder_labels
            if query_labels is None else query_labels,
            exclude_self=exclude_self,
            rerank=rerank)

    def search_embeddings(self,
                          embeddings: np.ndarray,
                          k: int = 10,
                          queries: Optional[Sequence] = None,
                          query_labels: Optional[Sequence] = None,
                          exclude_self: bool = False,
                          rerank: Any = SEARCHER_RERANK) -> List[SearchResult]:
        """:meth:`search` for query embeddings ``[Q, D]`` made by this
        model (``queries``: what each result names as its query; default
        its position).

        The flat index searches its faiss index as it is: nothing is built
        or copied per call (``benchmarks/embed_throughput.py`` measures
        this against bare faiss).
        """
        self._require_index()
        reranker = self.rerank if rerank is SEARCHER_RERANK else rerank
        idx, scores = self.index.search(
            embeddings, k, exclude_self=exclude_self, rerank=reranker)
        paths, g_labels = self.index.paths, self.index.labels
        results = []
        for i, (row,
                row_scores) in enumerate(zip(idx.tolist(), scores.tolist())):
            labels = None if g_labels is None else [g_labels[j] for j in row]
            q_label = None if query_labels is None else query_labels[i]
            results.append(
                SearchResult(
                    query=i if queries is None else queries[i],
                    paths=[paths[j] for j in row],
                    scores=row_scores,
                    labels=labels,
                    indices=row,
                    query_label=q_label,
                    correct=None if labels is None or q_label is None else
                    [lab == q_label for lab in labels]))
        return results

    def _require_index(self) -> None:
        if self.index is None:
            raise RuntimeError('no gallery: call build_index or load_index '
                               'first')


def _tolist(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return [round(float(v), 6) for v in value.reshape(-1)]
    return value
