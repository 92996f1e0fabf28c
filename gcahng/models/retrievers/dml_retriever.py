from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmpretrain.structures import DataSample
from torch.nn.modules.batchnorm import _BatchNorm

from gcahng.registry import MODELS


def labels_of(data_samples: Sequence[DataSample],
              device: Optional[torch.device] = None) -> torch.Tensor:
    """The batch's class labels ``[B]`` from mmpretrain data samples."""
    if not data_samples:
        raise ValueError('a training batch needs data samples with gt_label')
    labels = torch.cat([ds.gt_label.reshape(-1) for ds in data_samples])
    return labels.to(device) if device is not None else labels


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
        return dict(loss_metric=self.loss_metric(z, labels))

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
