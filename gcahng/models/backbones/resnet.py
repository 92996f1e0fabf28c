from typing import Dict, Optional

import torch
from mmpretrain.models.backbones import ResNet

from gcahng.registry import MODELS
from .pretrained import load_exactly, load_pretrained_state_dict

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
class TorchvisionResNet(ResNet):
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
        init_cfg = kwargs.get('init_cfg')
        if pretrained is not None and isinstance(init_cfg, dict) \
                and init_cfg.get('type') == 'Pretrained':
            raise ValueError('TorchvisionResNet: give either `pretrained` or '
                             "init_cfg=dict(type='Pretrained'), not both")
        super().__init__(depth=depth, **kwargs)
        self.pretrained = pretrained

    def init_weights(self) -> None:
        """mmpretrain's initialisation, then ``pretrained`` if given.

        Raises:
            PretrainedWeightsError: ``pretrained`` cannot be read (offline,
                missing file) or does not match the model key for key.
        """
        if self.pretrained is None:
            super().init_weights()
            return
        what = f'{type(self).__name__} (ResNet-{self.depth})'
        state = load_pretrained_state_dict(
            self.pretrained,
            what,
            official=f'torchvision://resnet{self.depth}')
        super().init_weights()
        load_exactly(self, convert_torchvision_resnet(state), what,
                     self.pretrained)


__all__ = ['TorchvisionResNet', 'convert_torchvision_resnet']
