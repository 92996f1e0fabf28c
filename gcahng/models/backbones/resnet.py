from typing import Dict, Optional

import torch
from mmpretrain.models.backbones import ResNet

from gcahng.registry import MODELS
from .pretrained import PretrainedMixin

#: torchvision's ImageNet ResNet-50 (``IMAGENET1K_V1``,
#: ``resnet50-0676ba61.pth``): the R512 initialisation (docs/algorithm.md §2).
RESNET50_IMAGENET = 'torchvision://resnet50'


def convert_torchvision_resnet(
        state: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """torchvision ResNet names -> mmpretrain ``ResNet`` names.

    The two name their parameters and buffers identically (``conv1``,
    ``bn1``, ``layer{1-4}.{i}.conv{1-3}`` / ``.bn{1-3}`` /
    ``.downsample.{0,1}``), so this only drops torchvision's ImageNet
    classifier ``fc.*``. State dicts converted by mmpretrain's
    ``torchvision_to_mmpretrain.py`` (``backbone.`` prefix, classifier under
    ``head.``) are accepted too.

    Args:
        state (dict): A torchvision (or mmpretrain-converted) state dict.

    Returns:
        dict: The backbone's state dict in mmpretrain ``ResNet`` names.
    """
    if any(k.startswith('backbone.') for k in state):
        state = {
            k[len('backbone.'):]: v
            for k, v in state.items() if k.startswith('backbone.')
        }
    return {k: v for k, v in state.items() if not k.startswith('fc.')}


@MODELS.register_module()
class TorchvisionResNet(PretrainedMixin, ResNet):
    """mmpretrain's ``ResNet`` initialised from torchvision weights
    (docs/algorithm.md §2).

    The R512 backbone: ``TorchvisionResNet(depth=50, out_indices=(3, ),
    pretrained='torchvision://resnet50')`` is mmpretrain's ResNet-50 with
    torchvision's ImageNet weights, returning ``(layer4, )``, ``[B, 2048,
    H/32, W/32]`` (``EmbeddingNeck(2048, D, pooling='avgmax')`` pools).

    Unlike ``init_cfg=dict(type='Pretrained', checkpoint=...)`` the load is
    exact (every parameter and buffer from the file, nothing left over but
    the classifier) and an unreachable source fails with one
    :class:`~gcahng.models.backbones.pretrained.PretrainedWeightsError` that
    names the URL and how to pass a local file, instead of a urllib traceback
    or a warning.

    Args:
        depth (int): ResNet depth (18, 34, 50, 101, 152).
        pretrained (str, optional): Local path, URL or ``torchvision://NAME``
            of a torchvision ResNet state dict (``fc.*`` is dropped), loaded
            by ``init_weights``. Offline, pass the downloaded file (e.g.
            ``'/path/to/resnet50-0676ba61.pth'``) or put it in the torch hub
            cache (``~/.cache/torch/hub/checkpoints/``). Defaults to None
            (mmpretrain's random initialisation).
        **kwargs: mmpretrain ``ResNet`` arguments (``out_indices``,
            ``frozen_stages``, ``norm_cfg``, ``norm_eval``, ...); no
            ``init_cfg`` of type ``'Pretrained'`` together with
            ``pretrained``.
    """

    def __init__(self,
                 depth: int,
                 pretrained: Optional[str] = None,
                 **kwargs) -> None:
        self.check_pretrained_args(pretrained, kwargs.get('init_cfg'),
                                   'TorchvisionResNet')
        super().__init__(depth=depth, **kwargs)
        self.pretrained = pretrained

    @property
    def official_weights(self) -> str:
        return f'torchvision://resnet{self.depth}'

    def pretrained_name(self) -> str:
        return f'{type(self).__name__} (ResNet-{self.depth})'

    def convert_pretrained(
            self, state: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        return convert_torchvision_resnet(state)


__all__ = ['TorchvisionResNet', 'convert_torchvision_resnet']
