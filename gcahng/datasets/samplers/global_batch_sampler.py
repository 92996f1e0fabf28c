"""Global-batch mode on the data side: every rank loads its share of one
``N × M`` batch per step (``docs/algorithm.md`` §9)."""
import inspect
import os
from itertools import islice
from typing import Iterator, List, Optional

from mmengine.config import Config
from mmengine.logging import MessageHub
from torch.utils.data import Sampler

from gcahng.models.utils.global_batch import GLOBAL_BATCH_INFO
from gcahng.registry import DATA_SAMPLERS, MODELS
from .balanced_sampler import BalancedClassSampler, BatchSettingError


@DATA_SAMPLERS.register_module()
class GlobalBatchSampler(Sampler):
    """The batch sampler of a :class:`BalancedClassSampler` with
    ``global_batch=True``: each step, this rank's share (``M·N_r`` indices,
    group order) of one global ``N × M`` batch.

    ``len`` is the number of global batches per epoch, the same on every
    rank and the same as in a single process. Built by MMEngine's Runner
    with ``batch_size`` = the dataloader's, which in this mode is the
    global batch and must be ``N × M``. Announces the global layout
    ``(N, M)`` in the message hub (``GLOBAL_BATCH_INFO``), which the model
    checks against the batch it gathers.

    Args:
        sampler (BalancedClassSampler): The index sampler, in global mode.
        batch_size (int): The global batch, ``N × M``.
        drop_last (bool): Unused (every batch is complete).
    """

    def __init__(self,
                 sampler: BalancedClassSampler,
                 batch_size: int,
                 drop_last: bool = False) -> None:
        if not (isinstance(sampler, BalancedClassSampler)
                and sampler.global_batch):
            raise TypeError(
                'GlobalBatchSampler needs BalancedClassSampler(global_batch='
                f'True) as the sampler, got {type(sampler).__name__}')
        n, m = sampler.num_classes_per_batch, sampler.num_samples_per_class
        if batch_size != n * m:
            raise BatchSettingError(
                f'train_dataloader.batch_size={batch_size}, but the sampler '
                f'deals N x M = {n} x {m} = {n * m}: in global-batch mode '
                'batch_size is the global batch N x M (split over the ranks)')
        self.sampler = sampler
        self.batch_size = batch_size
        first, last = sampler.share
        self.share_size = (last - first) * m
        # runtime information of this run only: not in the resumable keys
        # (a checkpoint neither saves it nor restores a stale one)
        MessageHub.get_current_instance().runtime_info[GLOBAL_BATCH_INFO] = (n,
                                                                             m)

    def __iter__(self) -> Iterator[List[int]]:
        indices = iter(self.sampler)
        for _ in range(len(self)):
            yield list(islice(indices, self.share_size))

    def __len__(self) -> int:
        return self.sampler.num_batches


def _launch_world_size(cfg: Config) -> int:
    """The number of processes a launch starts, read from the launcher's
    environment before the process group exists."""
    if cfg.get('launcher', 'none') == 'none':
        return 1
    for key in ('WORLD_SIZE', 'SLURM_NTASKS', 'OMPI_COMM_WORLD_SIZE'):
        if os.environ.get(key):
            return int(os.environ[key])
    return 1


def model_global_batch(model_cfg: dict) -> Optional[bool]:
    """``model.global_batch`` of a model config (its class default when the
    config does not set it); None for a model that cannot gather."""
    model_type = model_cfg.get('type')
    cls = MODELS.get(model_type) if isinstance(model_type, str) else model_type
    if cls is None:
        return None
    param = inspect.signature(cls).parameters.get('global_batch')
    if param is None:
        return None
    return bool(model_cfg.get('global_batch', param.default))


def configure_global_batch(cfg: Config) -> bool:
    """Make a distributed run's train dataloader follow ``model.global_batch``
    (called by ``tools/train.py``; call it before ``Runner.from_cfg``).

    For a launch of more than one process whose model gathers (the
    GCA-HNG and baseline models do by default) it sets
    ``train_dataloader.sampler.global_batch=True`` and
    ``train_dataloader.batch_sampler=dict(type='GlobalBatchSampler')``: the
    config's ``batch_size`` (``N × M``) is then the global batch, dealt over
    the ranks. Single-process runs and ``model.global_batch=False`` (one
    batch and one graph per rank, as before) are left alone. Returns whether
    it switched the dataloader to global dealing.

    Raises:
        BatchSettingError: (a ``ValueError``) for ``global_batch=True``
            with a model that cannot gather, or with a sampler other than
            ``BalancedClassSampler``, or with a sampler set to deal globally
            for a model that does not gather.
    """
    model = cfg.get('model') or {}
    loader = cfg.get('train_dataloader')
    flag = model_global_batch(model)
    if flag is None:
        if model.get('global_batch'):
            raise BatchSettingError(
                f'model.global_batch=True, but {model.get("type")} cannot '
                'gather a global batch (only gcahng retrievers, DMLRetriever '
                'and GCAHNG, can); remove the setting')
        return False
    if _launch_world_size(cfg) < 2 or not loader:
        return False
    sampler = loader.get('sampler') or {}
    is_balanced = sampler.get('type') in ('BalancedClassSampler',
                                          BalancedClassSampler)
    if not flag:
        if sampler.get('global_batch'):
            raise BatchSettingError(
                'train_dataloader.sampler.global_batch=True but '
                'model.global_batch=False: set model.global_batch only '
                '(the sampler follows it)')
        return False
    if not is_balanced:
        raise BatchSettingError(
            'model.global_batch=True on several processes needs '
            "train_dataloader.sampler=dict(type='BalancedClassSampler', "
            f'...), got {sampler.get("type")!r}; or set '
            'model.global_batch=False (one batch per rank)')
    sampler['global_batch'] = True
    loader['batch_sampler'] = dict(type='GlobalBatchSampler')
    return True
