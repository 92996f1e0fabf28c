"""The one home for building from a config and running batches.

Reading a config (``--cfg-options``, default scope), building its model
(with a checkpoint through :func:`gcahng.utils.checkpoint_fit.load_checkpoint`
or with its initial weights), its datasets and dataloaders, and running a
model over a dataset in batches (embeddings, backbone features) with a
progress bar. :class:`~gcahng.apis.ImageSearcher` and the tools
(``tools/analysis_tools/``, ``tools/deployment/``) build through it; the
figures are in :mod:`gcahng.visualization.figures`, per-query retrieval is
:func:`gcahng.evaluation.per_query_retrieval`, result files are written by
:mod:`gcahng.utils.result_files`.
"""
import copy
import os.path as osp
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.utils import ProgressBar

from gcahng.utils.checkpoint_fit import load_checkpoint
from gcahng.utils.cli import AnalysisError, resolve_work_dir
from gcahng.utils.config_check import check_config


# ----------------------------------------------------------------------
# config, model, data
def load_config(config: Union[str, Config],
                cfg_options: Optional[Dict[str, Any]] = None) -> Config:
    """Read a config (a path, or a :class:`Config`, copied), apply
    ``--cfg-options``, set its default scope and check its types and
    arguments (:func:`~gcahng.utils.config_check.check_config`).

    Raises:
        AnalysisError: if the file does not exist.
        ConfigError: if it names an unknown type or argument.
    """
    if isinstance(config, Config):
        cfg = copy.deepcopy(config)
    elif not osp.isfile(config):
        raise AnalysisError(f'no config file at {config}')
    else:
        cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    init_default_scope(cfg.get('default_scope', 'gcahng'))
    check_config(cfg)
    return cfg


def default_out_dir(cfg: Config,
                    config_path: str,
                    tool: str,
                    work_dir: Optional[str] = None) -> str:
    """``<work dir>/analysis/<tool>``.

    The work dir is :func:`~gcahng.utils.cli.resolve_work_dir`'s, as for
    ``tools/train.py``.
    """
    return osp.join(
        resolve_work_dir(cfg, config_path, work_dir), 'analysis', tool)


def pick_device(device: Optional[str] = None) -> torch.device:
    """``device`` or, when None, CUDA if available else the CPU."""
    if device is None:
        return torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    return torch.device(device)


def build_model(cfg: Config,
                checkpoint: Optional[str] = None,
                device: Optional[Union[str, torch.device]] = None,
                config_path: str = 'the config',
                init_weights: bool = True) -> torch.nn.Module:
    """Build ``cfg.model``, load ``checkpoint`` (or, without one and with
    ``init_weights``, run ``init_weights``), move it to ``device`` and
    switch it to eval mode.

    The checkpoint must fit every tensor of the model
    (:func:`gcahng.utils.checkpoint_fit.load_checkpoint`; a mismatch raises
    :class:`gcahng.utils.CheckpointMismatchError`). A caller that loads
    part of a checkpoint into part of the model (``ImageSearcher``: the
    backbone and neck) passes no checkpoint and loads it itself through
    the same function.
    """
    from gcahng.registry import MODELS
    init_default_scope(cfg.get('default_scope', 'gcahng'))
    model = MODELS.build(copy.deepcopy(cfg.model))
    if checkpoint is not None:
        load_checkpoint(
            model,
            checkpoint,
            optional_prefixes=(),
            allow_flag=None,
            source=f'{checkpoint} ({type(model).__name__} of {config_path})',
            hint='Pass the config the checkpoint was trained with (a GCA-HNG '
            'checkpoint has graph_head.* weights, a baseline has none).')
    elif init_weights and hasattr(model, 'init_weights'):
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


__all__ = [
    'AnalysisError', 'load_config', 'default_out_dir', 'pick_device',
    'build_model', 'build_dataset', 'build_dataloader', 'dataset_labels',
    'query_mask', 'class_names', 'run_batches', 'extract_embeddings'
]
