from typing import Dict, Optional, Tuple

import torch
from torchvision.models.googlenet import GoogLeNet as TVGoogLeNet

from gcahng.registry import MODELS
from .pretrained import PretrainedMixin

#: torchvision's ImageNet weights (the G512 initialisation, docs/algorithm.md
#: §2).
GOOGLENET_IMAGENET = ('https://download.pytorch.org/models/'
                      'googlenet-1378be20.pth')


@MODELS.register_module()
class GoogLeNet(PretrainedMixin, TVGoogLeNet):
    """torchvision's GoogLeNet (Inception-v1) as a backbone (docs/algorithm.md
    §2, G512).

    Returns the last inception block's feature map ``(x5b, )``, ``[B, 1024,
    H/32, W/32]``; pooling is the neck's job (``EmbeddingNeck('avg')``, or
    ``'max'`` for the Table-8 variant). The auxiliary heads and the ImageNet
    classifier are dropped, so parameter names are torchvision's minus
    ``aux1``, ``aux2`` and ``fc``: released checkpoints map one to one.

    ``transform_input=True`` re-normalises an ImageNet-mean/std normalised
    input to the ``(x - 0.5) / 0.5`` scale the torchvision ImageNet weights
    were trained with, exactly as torchvision does.

    Args:
        transform_input (bool): See above. Defaults to True.
        pretrained (str, optional): Path, URL or ``'torchvision://googlenet'``
            of torchvision's ImageNet state dict (``GOOGLENET_IMAGENET``),
            loaded by ``init_weights`` (see ``pretrained.py`` for the sources
            and the offline error). Defaults to None (random weights).
    """

    def __init__(self,
                 transform_input: bool = True,
                 pretrained: Optional[str] = None) -> None:
        super().__init__(
            num_classes=1000,
            aux_logits=False,
            transform_input=transform_input,
            init_weights=True)
        del self.avgpool, self.dropout, self.fc
        self.pretrained = pretrained

    official_weights = GOOGLENET_IMAGENET

    def convert_pretrained(
            self, state: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """torchvision's names minus ``fc`` and the auxiliary heads."""
        return {
            k: v
            for k, v in state.items() if not k.startswith(('fc.', 'aux'))
        }

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor]:
        """``[B, 3, H, W]`` -> ``(x5b, )``, ``[B, 1024, H/32, W/32]``."""
        x = self._transform_input(x)
        x = self.maxpool1(self.conv1(x))
        x = self.maxpool2(self.conv3(self.conv2(x)))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = self.inception4c(self.inception4b(self.inception4a(x)))
        x = self.maxpool4(self.inception4e(self.inception4d(x)))
        x = self.inception5b(self.inception5a(x))
        return (x, )
