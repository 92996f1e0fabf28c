from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModel, is_model_wrapper
from mmpretrain.structures import DataSample
from torch.nn.modules.batchnorm import _BatchNorm

from gcahng.registry import MODELS
from gcahng.utils.checkpoint_fit import DROPPABLE_STATE, unwrapped_key
from ..utils import (EmbeddingMemory, GlobalBatch, MemorySettingError,
                     MemoryView, convert_global_batchnorm,
                     distributed_world_size, gather_global_batch,
                     memory_settings)


def labels_of(data_samples: Sequence[DataSample],
              device: Optional[torch.device] = None) -> torch.Tensor:
    """The batch's class labels ``[B]`` from mmpretrain data samples."""
    if not data_samples:
        raise ValueError('a training batch needs data samples with gt_label')
    labels = torch.cat([ds.gt_label.reshape(-1) for ds in data_samples])
    return labels.to(device) if device is not None else labels


def _unwrapped_child_keys(module: nn.Module, state_dict: dict, prefix: str,
                          local_metadata: dict) -> None:
    """State-dict post-hook: the keys of children that a model wrapper
    wraps (``MMSeparateDistributedDataParallel`` wraps each child in DDP)
    without the wrapper's ``module.`` segment.

    A multi-process GCA-HNG checkpoint would otherwise hold
    ``backbone.module.conv1.weight``, while MMEngine's loader unwraps the
    wrappers and looks for ``backbone.conv1.weight``: a resume (or a test
    on the checkpoint) silently loaded nothing into the wrapped children.
    """
    wrapped = [
        f'{prefix}{name}.' for name, child in module.named_children()
        if is_model_wrapper(child)
    ]
    if not wrapped:
        return

    def rename(key: str) -> str:
        for head in wrapped:
            if key.startswith(head + 'module.'):
                return head + key[len(head) + len('module.'):]
            if key == head + 'module':
                return head[:-1]
        return key

    items = list(state_dict.items())
    state_dict.clear()
    state_dict.update((rename(k), v) for k, v in items)
    metadata = getattr(state_dict, '_metadata', None)
    if metadata is not None:
        entries = list(metadata.items())
        metadata.clear()
        metadata.update((rename(k), v) for k, v in entries)


def _read_wrapped_child_keys(module: nn.Module, state_dict: dict, prefix: str,
                             *args: Any) -> None:
    """Load-state-dict pre-hook: a checkpoint written by a multi-process run
    before :func:`_unwrapped_child_keys` existed holds
    ``backbone.module.conv1.weight``; read it as ``backbone.conv1.weight``,
    the key every loader (MMEngine's unwraps model wrappers) now expects.
    Without this, a resume or a test from such a checkpoint loaded nothing
    into the wrapped children and warned only about missing keys.
    """
    for key in [k for k in state_dict if k.startswith(prefix)]:
        new_key = prefix + unwrapped_key(key[len(prefix):])
        if new_key != key:
            state_dict.setdefault(new_key, state_dict[key])
            del state_dict[key]


def _drop_absent_state(module: nn.Module, state_dict: dict, prefix: str, *args:
                       Any) -> None:
    """Load-state-dict pre-hook: a model without a memory (``memory.*``,
    docs/algorithm.md §10) or without ``L_syn``'s gate (``syn_gate.*``, §7)
    reads a checkpoint with one without complaint, dropping it."""
    for name in DROPPABLE_STATE:
        if getattr(module, name, None) is None:
            start = f'{prefix}{name}.'
            for key in [k for k in state_dict if k.startswith(start)]:
                del state_dict[key]


@MODELS.register_module()
class DMLRetriever(BaseModel):
    """The metric model: ``z = neck(backbone(x))`` trained by ``L_m``.

    This is the feature extractor of docs/algorithm.md §2 and, trained alone,
    the "Baseline" of the paper's tables. Evaluation (``predict``) returns the
    raw embedding; the retrieval metric L2-normalises it (docs/algorithm.md
    §8).

    Args:
        backbone (dict): Backbone config, e.g. mmpretrain ``ResNet``.
        neck (dict): ``EmbeddingNeck`` config.
        loss_metric (dict): ``L_m``: ``NPairLoss`` or ``ProxyAnchorLoss``,
            called as ``loss_metric(z, labels)`` with ``z`` in
            docs/algorithm.md §1 group order.
        data_preprocessor (dict, optional): Defaults to mmpretrain's
            ``ClsDataPreprocessor`` with ImageNet mean/std.
        frozen_bn2d (bool): Keep the backbone's BatchNorm layers in eval
            mode with their affine parameters frozen (docs/algorithm.md §2:
            R512 on CUB/Cars196).
        global_batch (bool): With several processes, train on one global
            ``N × M`` batch split over the ranks (``docs/algorithm.md`` §9):
            the embeddings and labels are gathered, every loss runs on the
            whole batch, the backbone's and neck's BatchNorms use the global
            batch's statistics, and the update equals the single-process
            one. False: every rank trains on a batch of its own (gradients
            averaged). No effect in a single process.
        memory (dict, optional): A FIFO memory of past embeddings
            (docs/algorithm.md §10): ``dict(size=K, start_iter=0,
            mining=False, graph=True, topk=None, store_nodes=False)``.
            Here (the metric model alone) only ``mining=True,
            graph=False`` applies: ``L_m`` also sees the memory's
            embeddings (the XBM baseline). None or ``size=0``: off.
        init_cfg (dict, optional): Initialisation config.

    Attributes:
        backbone_frozen (bool): While True (set by ``BackboneWarmupHook``
            during the warm-up epochs) the backbone runs without autograd,
            so only the neck and the loss's parameters learn. Switching
            autograd off instead of ``requires_grad`` keeps DDP's gradient
            buckets intact.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 loss_metric: dict,
                 data_preprocessor: Optional[dict] = None,
                 frozen_bn2d: bool = False,
                 global_batch: bool = True,
                 memory: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(
                type='ClsDataPreprocessor',
                mean=[123.675, 116.28, 103.53],
                std=[58.395, 57.12, 57.375],
                to_rgb=True)
        data_preprocessor.setdefault('type', 'ClsDataPreprocessor')
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.neck = MODELS.build(neck)
        self.loss_metric = MODELS.build(loss_metric)
        self.frozen_bn2d = frozen_bn2d
        self.backbone_frozen = False
        if frozen_bn2d:
            for m in self._backbone_norms():
                for p in m.parameters():
                    p.requires_grad_(False)
        self.register_state_dict_post_hook(_unwrapped_child_keys)
        self.register_load_state_dict_pre_hook(_read_wrapped_child_keys)
        # global-batch mode (docs/algorithm.md §9): the layers that see only
        # this rank's share normalise with the global batch's statistics
        self.global_batch = global_batch
        if self.gathers:
            convert_global_batchnorm(self.backbone)
            convert_global_batchnorm(self.neck)
        self._build_memory(memory)

    #: whether ``model.memory.graph=True`` can be used (a graph head)
    supports_memory_graph = False

    def _build_memory(self, memory: Optional[dict]) -> None:
        """``self.memory`` (:class:`EmbeddingMemory` or None) and
        ``self.memory_settings`` from ``model.memory``."""
        settings = memory_settings(memory)
        self.memory_settings = settings
        self.memory = None
        self.register_load_state_dict_pre_hook(_drop_absent_state)
        if settings is None:
            return
        if not self.global_batch and distributed_world_size() > 1:
            raise MemorySettingError(
                'model.memory needs model.global_batch=True with several '
                'processes (one memory of the global batch on every rank); '
                'with model.global_batch=False set model.memory=None')
        if settings.graph and not self.supports_memory_graph:
            raise MemorySettingError(
                f'model.memory.graph=True needs a graph head (GCAHNG); '
                f'{type(self).__name__} has none. For the XBM baseline set '
                'model.memory=dict(size=K, graph=False, mining=True)')
        dim = self.neck.fc.out_features
        self.memory = EmbeddingMemory(settings.size, dim, settings.store_nodes)

    def memory_view(self, use: str) -> Optional[MemoryView]:
        """The memory's entries for ``use`` (``'mining'`` or ``'graph'``):
        None when the memory is off, not used that way, empty, or before
        ``start_iter`` steps."""
        settings = self.memory_settings
        if self.memory is None or not getattr(settings, use) or \
                len(self.memory) == 0 or \
                int(self.memory.step) < settings.start_iter:
            return None
        return self.memory.view()

    def mining_kwargs(self) -> dict:
        """``L_m``'s memory arguments: the memory's embeddings and labels
        when ``model.memory.mining`` is on (XBM), else none."""
        view = self.memory_view('mining')
        if view is None:
            return {}
        return dict(memory_feats=view.feats, memory_labels=view.labels)

    def enqueue_memory(self,
                       z: torch.Tensor,
                       labels: torch.Tensor,
                       nodes: Optional[torch.Tensor] = None) -> None:
        """After a training step: the (global) batch's embeddings into the
        memory, in global order, so that every rank holds the same."""
        if self.memory is not None:
            self.memory.enqueue(z, labels, nodes=nodes)

    @property
    def gathers(self) -> bool:
        """Whether training gathers a global batch: ``global_batch`` with
        more than one process."""
        return self.global_batch and distributed_world_size() > 1

    def gather_labels(
            self, labels: torch.Tensor
    ) -> Tuple[Optional[GlobalBatch], torch.Tensor]:
        """The step's :class:`GlobalBatch` and global labels in
        global-batch mode (``labels`` on the backend's device); ``(None,
        labels)`` otherwise. The train dataloader deals the shares
        (``GlobalBatchSampler``; ``GlobalBatchHook`` checks that it does).

        Raises:
            ValueError: if the ranks' batches are not shares of one batch
                in group order (e.g. two ranks hold the same class).
        """
        if not self.gathers:
            return None, labels
        return gather_global_batch(labels)

    def _backbone_norms(self) -> List[nn.Module]:
        return [
            m for m in self.backbone.modules() if isinstance(m, _BatchNorm)
        ]

    def train(self, mode: bool = True) -> 'DMLRetriever':
        super().train(mode)
        if mode and self.frozen_bn2d:
            for m in self._backbone_norms():
                m.eval()
        return self

    def extract_feat(self, inputs: torch.Tensor) -> torch.Tensor:
        """``z = neck(backbone(x))``, ``[B, D]``, not normalised."""
        if self.backbone_frozen and self.training:
            with torch.no_grad():
                feats = self.backbone(inputs)
        else:
            feats = self.backbone(inputs)
        return self.neck(feats)

    def forward(self,
                inputs: torch.Tensor,
                data_samples: Optional[List[DataSample]] = None,
                mode: str = 'tensor'):
        if mode == 'tensor':
            return self.extract_feat(inputs)
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        raise RuntimeError(f'Invalid mode "{mode}".')

    def loss(self, inputs: torch.Tensor,
             data_samples: List[DataSample]) -> Dict[str, torch.Tensor]:
        """``L_m(z, y)`` for a batch in docs/algorithm.md §1 group order."""
        z = self.extract_feat(inputs)
        labels = labels_of(data_samples, z.device)
        batch, labels = self.gather_labels(labels)
        if batch is not None:  # global-batch mode: L_m on the whole batch
            z = batch.gather(z)
        loss = self.loss_metric(z, labels, **self.mining_kwargs())
        if self.training:  # the memory copies what it returned: safe now
            self.enqueue_memory(z, labels)
        return dict(loss_metric=loss)

    def predict(
            self,
            inputs: torch.Tensor,
            data_samples: Optional[List[DataSample]] = None
    ) -> List[DataSample]:
        """Embed a batch; each data sample gets an ``embedding`` field."""
        z = self.extract_feat(inputs).float()
        if data_samples is None:
            data_samples = [DataSample() for _ in range(z.size(0))]
        for ds, emb in zip(data_samples, z):
            ds.set_field(emb.detach(), 'embedding', field_type='data')
        return data_samples
