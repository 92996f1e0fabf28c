"""Shared code of the analysis tools in ``tools/analysis_tools/``.

Building a model from a config and a checkpoint (with a clear error when
they do not match), the config's datasets and dataloaders, embedding and
backbone-feature extraction with a progress bar, per-query retrieval
results, original (un-normalised) images, t-SNE, and writing figures,
CSV and JSON files. Heavy optional dependencies (matplotlib, scikit-learn)
are imported where they are used.
"""
import copy
import csv
import json
import os
import os.path as osp
from typing import (Any, Callable, Dict, Iterable, List, Optional, Sequence,
                    Union)

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.utils import ProgressBar

from gcahng.evaluation import (as_embeddings, label_ids, nearest_neighbours,
                               precision_at_r)


class AnalysisError(RuntimeError):
    """A problem an analysis tool reports in one line, without a stack
    trace: a missing file, a bad argument, a checkpoint that does not match
    its config."""


class CheckpointMismatchError(AnalysisError):
    """The checkpoint's weights do not fit the model its config builds."""


# ----------------------------------------------------------------------
# config, model, data
def load_config(path: str,
                cfg_options: Optional[Dict[str, Any]] = None) -> Config:
    """Read a config, apply ``--cfg-options`` and set its default scope.

    Raises:
        AnalysisError: if the file does not exist.
    """
    if not osp.isfile(path):
        raise AnalysisError(f'no config file at {path}')
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    init_default_scope(cfg.get('default_scope', 'gcahng'))
    return cfg


def default_out_dir(cfg: Config,
                    config_path: str,
                    tool: str,
                    work_dir: Optional[str] = None) -> str:
    """``<work dir>/analysis/<tool>``.

    The work dir is ``work_dir`` if given, else the config's ``work_dir``,
    else ``./work_dirs/<config name>`` like ``tools/train.py``.
    """
    if work_dir is None:
        work_dir = cfg.get('work_dir', None) or osp.join(
            './work_dirs',
            osp.splitext(osp.basename(config_path))[0])
    return osp.join(work_dir, 'analysis', tool)


def pick_device(device: Optional[str] = None) -> torch.device:
    """``device`` or, when None, CUDA if available else the CPU."""
    if device is None:
        return torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    return torch.device(device)


def _state_dict_of(checkpoint: dict) -> Dict[str, torch.Tensor]:
    state = checkpoint.get('state_dict', checkpoint)
    if not isinstance(state, dict):
        raise AnalysisError('the checkpoint holds no state dict')
    if state and all(k.startswith('module.') for k in state):
        state = {k[len('module.'):]: v for k, v in state.items()}
    return state


def _listing(keys: Sequence[str], limit: int = 8) -> str:
    shown = ', '.join(keys[:limit])
    more = f' (and {len(keys) - limit} more)' if len(keys) > limit else ''
    return shown + more


def load_checkpoint_strict(model: torch.nn.Module,
                           checkpoint: str,
                           config_path: str = 'the config') -> dict:
    """Load ``checkpoint`` into ``model``; every tensor must match.

    Returns:
        dict: The checkpoint's ``meta`` (empty if it has none).

    Raises:
        AnalysisError: if the file is missing or unreadable.
        CheckpointMismatchError: on missing or unexpected keys or shape
            mismatches, naming them and the likely cause.
    """
    from mmengine.runner.checkpoint import _load_checkpoint
    if not osp.isfile(checkpoint):
        raise AnalysisError(f'no checkpoint file at {checkpoint}')
    try:
        ckpt = _load_checkpoint(checkpoint, map_location='cpu')
    except Exception as err:  # noqa: B902 (pickle/zip errors of any type)
        raise AnalysisError(f'cannot read checkpoint {checkpoint}: '
                            f'{type(err).__name__}: {err}') from None
    state = _state_dict_of(ckpt)
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [
        f'{k} {tuple(state[k].shape)} vs {tuple(own[k].shape)}' for k in own
        if k in state and tuple(state[k].shape) != tuple(own[k].shape)
    ]
    if missing or unexpected or shapes:
        problems = []
        if missing:
            problems.append(f'{len(missing)} weights the model needs are '
                            f'missing: {_listing(missing)}')
        if unexpected:
            problems.append(f'{len(unexpected)} weights the model does not '
                            f'have: {_listing(unexpected)}')
        if shapes:
            problems.append(f'{len(shapes)} shapes differ (checkpoint vs '
                            f'model): {_listing(shapes, 4)}')
        raise CheckpointMismatchError(
            f'checkpoint {checkpoint} does not match the model of '
            f'{config_path} ({type(model).__name__}): ' + '; '.join(problems) +
            '. Pass the config the checkpoint was trained with (a GCA-HNG '
            'checkpoint has graph_head.* weights, a baseline has none).')
    model.load_state_dict(state, strict=True)
    meta = ckpt.get('meta', {}) if isinstance(ckpt, dict) else {}
    return meta if isinstance(meta, dict) else {}


def build_model(cfg: Config,
                checkpoint: Optional[str] = None,
                device: Optional[Union[str, torch.device]] = None,
                config_path: str = 'the config') -> torch.nn.Module:
    """Build ``cfg.model``, load ``checkpoint`` (or run ``init_weights``
    without one), move it to ``device`` and switch it to eval mode."""
    from gcahng.registry import MODELS
    init_default_scope(cfg.get('default_scope', 'gcahng'))
    model = MODELS.build(copy.deepcopy(cfg.model))
    if checkpoint is not None:
        load_checkpoint_strict(model, checkpoint, config_path)
    elif hasattr(model, 'init_weights'):
        model.init_weights()
    device = pick_device(device) if not isinstance(device,
                                                   torch.device) else device
    return model.to(device).eval()


def build_dataset(cfg: Config, split: str = 'test'):
    """The dataset of ``cfg.<split>_dataloader`` (``split``: ``'train'``,
    ``'val'`` or ``'test'``)."""
    from gcahng.registry import DATASETS
    key = f'{split}_dataloader'
    loader_cfg = cfg.get(key, None)
    if not loader_cfg or 'dataset' not in loader_cfg:
        raise AnalysisError(f'the config has no {key}.dataset')
    init_default_scope(cfg.get('default_scope', 'gcahng'))
    return DATASETS.build(copy.deepcopy(loader_cfg['dataset']))


def build_dataloader(cfg: Config, split: str = 'train', seed: int = 0):
    """The config's ``<split>_dataloader`` as the Runner builds it
    (sampler, batch size, collate function)."""
    from mmengine.runner import Runner
    key = f'{split}_dataloader'
    if not cfg.get(key, None):
        raise AnalysisError(f'the config has no {key}')
    init_default_scope(cfg.get('default_scope', 'gcahng'))
    loader_cfg = copy.deepcopy(cfg[key])
    loader_cfg['num_workers'] = 0
    loader_cfg.pop('persistent_workers', None)
    return Runner.build_dataloader(loader_cfg, seed=seed)


def dataset_labels(dataset) -> np.ndarray:
    """``gt_label`` of every sample, without loading images."""
    return np.asarray(dataset.get_gt_labels(), dtype=np.int64).reshape(-1)


def query_mask(dataset) -> Optional[np.ndarray]:
    """``is_query`` flags of a query → gallery dataset (e.g. InShop's
    ``'test'`` split), or None for a leave-one-out dataset."""
    fn = getattr(dataset, 'get_query_mask', None)
    if fn is not None:
        return np.asarray(fn(), dtype=bool)
    if len(dataset) == 0 or 'is_query' not in dataset.get_data_info(0):
        return None
    return np.asarray([
        bool(dataset.get_data_info(i)['is_query'])
        for i in range(len(dataset))
    ],
                      dtype=bool)


def class_names(dataset) -> List[str]:
    """Class names of the dataset's labels (``str(label)`` if unknown)."""
    names = (getattr(dataset, 'metainfo', None) or {}).get('classes')
    return [str(n) for n in names] if names else []


# ----------------------------------------------------------------------
# forward passes
@torch.no_grad()
def run_batches(model: torch.nn.Module,
                dataset,
                fn: Callable[[torch.nn.Module, torch.Tensor], Any],
                indices: Optional[Sequence[int]] = None,
                batch_size: int = 64,
                progress: bool = True) -> List[Any]:
    """Run ``fn(model, inputs)`` over ``dataset[indices]`` in test mode.

    ``inputs`` is the data preprocessor's output (normalised, on the
    model's device). Returns the list of ``fn``'s per-batch outputs.
    """
    if indices is None:
        indices = range(len(dataset))
    indices = [int(i) for i in indices]
    outputs = []
    bar = ProgressBar(len(indices)) if progress and indices else None
    for start in range(0, len(indices), batch_size):
        chunk = indices[start:start + batch_size]
        data = pseudo_collate([dataset[i] for i in chunk])
        data = model.data_preprocessor(data, False)
        outputs.append(fn(model, data['inputs']))
        if bar is not None:
            bar.update(len(chunk))
    if bar is not None:
        bar.file.write('\n')
        bar.file.flush()
    return outputs


def extract_embeddings(model: torch.nn.Module,
                       dataset,
                       indices: Optional[Sequence[int]] = None,
                       batch_size: int = 64,
                       progress: bool = True) -> np.ndarray:
    """Embeddings ``z = neck(backbone(x))`` (not normalised), float32
    ``[len(indices), D]``, in the order of ``indices``."""
    outs = run_batches(
        model,
        dataset,
        lambda m, x: m.extract_feat(x).float().cpu(),
        indices=indices,
        batch_size=batch_size,
        progress=progress)
    if not outs:
        raise AnalysisError('no samples to embed')
    return torch.cat(outs).numpy()


# ----------------------------------------------------------------------
# retrieval
def per_query_retrieval(query: np.ndarray,
                        query_labels: np.ndarray,
                        gallery: Optional[np.ndarray] = None,
                        gallery_labels: Optional[np.ndarray] = None,
                        topk: int = 5,
                        chunk_size: int = 1024) -> Dict[str, np.ndarray]:
    """Each query's ranked neighbours and scores (SPEC §8 definitions).

    Embeddings are L2-normalised and ranked by cosine similarity with the
    same exact search as :func:`gcahng.evaluation.retrieval_metrics`
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
        raise AnalysisError('the gallery is empty')
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


# ----------------------------------------------------------------------
# images
def to_rgb_uint8(img: Union[np.ndarray, torch.Tensor],
                 bgr: bool = True) -> np.ndarray:
    """An ``HxW``, ``HxWxC`` or ``CxHxW`` image as ``HxWx3`` RGB uint8."""
    if isinstance(img, torch.Tensor):
        img = img.detach().cpu().numpy()
    img = np.asarray(img)
    if img.ndim == 3 and img.shape[0] in (1, 3) and img.shape[-1] not in (1,
                                                                          3):
        img = img.transpose(1, 2, 0)
    if img.ndim == 2:
        img = img[..., None]
    if img.shape[-1] == 1:
        img = np.repeat(img, 3, axis=-1)
    if img.dtype != np.uint8:
        img = np.clip(img, 0, 255).round().astype(np.uint8)
    return np.ascontiguousarray(img[..., ::-1] if bgr else img)


def denormalize(inputs: torch.Tensor,
                mean: Sequence[float],
                std: Sequence[float],
                bgr: bool = False) -> np.ndarray:
    """Undo a data preprocessor's normalisation of one ``CxHxW`` tensor:
    ``x * std + mean``, as ``HxWx3`` RGB uint8.

    ``bgr``: the tensor's channels are in BGR order (a preprocessor with
    ``to_rgb=False`` on images loaded by OpenCV); the default assumes RGB
    (``to_rgb=True``, as in every gcahng config).
    """
    mean_t = torch.as_tensor(mean, dtype=torch.float32).view(-1, 1, 1)
    std_t = torch.as_tensor(std, dtype=torch.float32).view(-1, 1, 1)
    img = inputs.detach().cpu().float() * std_t + mean_t
    return to_rgb_uint8(img, bgr=bgr)


def raw_image(dataset, idx: int) -> np.ndarray:
    """The original image of sample ``idx`` as ``HxWx3`` RGB uint8.

    Read from the data info (``img`` as rendered by
    :class:`~gcahng.datasets.SyntheticFineGrained`, else the file at
    ``img_path``), not from the normalised network input. Datasets with
    neither fall back to the pipeline's (un-normalised) ``inputs``.
    """
    info = dataset.get_data_info(idx)
    img = info.get('img')
    if img is None and info.get('img_path'):
        import mmcv
        path = info['img_path']
        img = mmcv.imread(path) if osp.isfile(path) else None
        if img is None:
            raise AnalysisError(f'cannot read image {path} (sample {idx})')
    if img is None:
        img = dataset[idx]['inputs']
    return to_rgb_uint8(img, bgr=True)


# ----------------------------------------------------------------------
# t-SNE, plotting, files
def tsne_2d(x: np.ndarray,
            seed: int = 0,
            perplexity: float = 30.0,
            max_iter: Optional[int] = None) -> np.ndarray:
    """A 2-D t-SNE (scikit-learn) of the rows of ``x``; the perplexity is
    clipped to ``(n - 1) / 3`` for small sets."""
    try:
        from sklearn.manifold import TSNE
    except ImportError:
        raise AnalysisError('t-SNE needs scikit-learn: pip install '
                            'scikit-learn') from None
    n = len(x)
    if n < 4:
        raise AnalysisError(f't-SNE needs at least 4 points, got {n}')
    kwargs = dict(
        n_components=2,
        perplexity=float(min(perplexity, max(1.0, (n - 1) / 3.0))),
        init='pca',
        learning_rate='auto',
        # exact gradients are faster than Barnes-Hut for small sets
        method='exact' if n <= 300 else 'barnes_hut',
        random_state=seed)
    if max_iter is not None:
        kwargs['max_iter'] = max(250, int(max_iter))
    return TSNE(**kwargs).fit_transform(np.asarray(x, dtype=np.float32))


def get_pyplot():
    """``matplotlib.pyplot`` on the non-interactive Agg backend."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


def class_colours(num: int) -> np.ndarray:
    """``num`` distinct RGBA colours (tab10/tab20, HSV beyond 20)."""
    plt = get_pyplot()
    if num <= 10:
        return plt.get_cmap('tab10')(np.arange(num))
    if num <= 20:
        return plt.get_cmap('tab20')(np.arange(num))
    return plt.get_cmap('hsv')(np.linspace(0, 1, num, endpoint=False))


def save_figure(fig, path: str, dpi: int = 120) -> str:
    """Write ``fig`` as PNG and close it."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches='tight')
    get_pyplot().close(fig)
    return path


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, torch.Tensor):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def write_json(path: str, obj: Any) -> str:
    """Write ``obj`` (numpy/torch values converted, NaN as null)."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(_jsonable(obj), f, indent=2)
    return path


def write_csv(path: str,
              rows: Iterable[Dict[str, Any]],
              fieldnames: Optional[Sequence[str]] = None) -> str:
    """Write dict rows as CSV (columns: ``fieldnames`` or the first row's
    keys)."""
    rows = list(rows)
    if fieldnames is None:
        fieldnames = list(rows[0]) if rows else []
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=list(fieldnames))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _jsonable(v) for k, v in row.items()})
    return path


__all__ = [
    'AnalysisError', 'CheckpointMismatchError', 'load_config',
    'default_out_dir', 'pick_device', 'load_checkpoint_strict', 'build_model',
    'build_dataset', 'build_dataloader', 'dataset_labels', 'query_mask',
    'class_names', 'run_batches', 'extract_embeddings', 'per_query_retrieval',
    'to_rgb_uint8', 'denormalize', 'raw_image', 'tsne_2d', 'get_pyplot',
    'class_colours', 'save_figure', 'write_json', 'write_csv'
]
