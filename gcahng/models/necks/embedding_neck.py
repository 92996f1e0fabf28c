from typing import Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from gcahng.registry import MODELS


@MODELS.register_module()
class EmbeddingNeck(BaseModule):
    """Pooling, then ``BatchNorm1d(C) -> Linear(C, D)`` (docs/algorithm.md §2).

    ``z = W · BN(pool(F)) + b``, no L2 normalisation (the losses and the
    metric normalise where they need to).

    Args:
        in_channels (int): Channels ``C`` of the backbone's last output.
        out_channels (int): Embedding size ``D``.
        pooling (str): How a feature map ``[B, C, H, W]`` becomes ``[B, C]``:
            ``'avg'`` (GoogLeNet, G512), ``'max'``, ``'avgmax'`` (the sum of
            global average and global max pooling, ResNet-50 R512) or
            ``'none'`` when the backbone already gives ``[B, C]`` (the DINO
            CLS token, DN384).
        orthogonal_init (bool): Orthogonal weight and zero bias for the
            Linear, as the reference does for DINO. Otherwise PyTorch's
            default initialisation.
    """
    POOLINGS = ('avg', 'max', 'avgmax', 'none')

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 pooling: str = 'avg',
                 orthogonal_init: bool = False,
                 init_cfg: Union[dict, None] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if pooling not in self.POOLINGS:
            raise ValueError(f'EmbeddingNeck: pooling must be one of '
                             f'{self.POOLINGS}, got {pooling!r}')
        self.pooling = pooling
        self.bn = nn.BatchNorm1d(in_channels)
        self.fc = nn.Linear(in_channels, out_channels)
        if orthogonal_init:
            nn.init.orthogonal_(self.fc.weight)
            nn.init.zeros_(self.fc.bias)

    def pool(self, x: torch.Tensor) -> torch.Tensor:
        """Reduce ``[B, C, H, W]`` (or ``[B, C]``) to ``[B, C]``."""
        if x.dim() == 2:
            return x
        if self.pooling == 'none':
            raise ValueError('EmbeddingNeck(pooling="none") got a feature '
                             f'map of shape {tuple(x.shape)}')
        if self.pooling == 'avg':
            return x.mean(dim=(2, 3))
        if self.pooling == 'max':
            return x.amax(dim=(2, 3))
        return x.mean(dim=(2, 3)) + x.amax(dim=(2, 3))

    def forward(
            self, inputs: Union[torch.Tensor,
                                Sequence[torch.Tensor]]) -> torch.Tensor:
        """Embed the last backbone output: ``[B, ...] -> [B, D]``."""
        x = inputs[-1] if isinstance(inputs, (tuple, list)) else inputs
        return self.fc(self.bn(self.pool(x)))

    def extra_repr(self) -> str:
        return f'pooling={self.pooling!r}'


__all__: Tuple[str, ...] = ('EmbeddingNeck', )
