import re
from typing import Dict, Optional, Tuple

import torch
from mmpretrain.models.backbones import VisionTransformer

from gcahng.registry import MODELS
from .pretrained import PretrainedMixin

#: The official DINO ViT-S/16 backbone (teacher) weights: the DN384
#: initialisation (docs/algorithm.md §2).
DINO_VITS16 = ('https://dl.fbaipublicfiles.com/dino/dino_deitsmall16_pretrain/'
               'dino_deitsmall16_pretrain.pth')

#: DINO (timm) ViT names -> mmpretrain ``VisionTransformer`` names.
_DINO_TO_MMPRETRAIN = (
    (r'^(cls_token|pos_embed)$', r'\1'),
    (r'^patch_embed\.proj\.', 'patch_embed.projection.'),
    (r'^blocks\.(\d+)\.norm1\.', r'layers.\1.ln1.'),
    (r'^blocks\.(\d+)\.attn\.(qkv|proj)\.', r'layers.\1.attn.\2.'),
    (r'^blocks\.(\d+)\.norm2\.', r'layers.\1.ln2.'),
    (r'^blocks\.(\d+)\.mlp\.fc1\.', r'layers.\1.ffn.layers.0.0.'),
    (r'^blocks\.(\d+)\.mlp\.fc2\.', r'layers.\1.ffn.layers.1.'),
    (r'^norm\.', 'ln1.'),
)


def convert_dino_vit(
        state: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """DINO ViT state dict -> mmpretrain ``VisionTransformer`` names.

    Accepts the released backbone state dict (``cls_token``, ``pos_embed``,
    ``patch_embed.proj.*``, ``blocks.{i}.{norm1,attn.qkv,attn.proj,norm2,
    mlp.fc1,mlp.fc2}.*``, ``norm.*``) and the ``teacher`` / ``student`` state
    dicts of DINO's full training checkpoint (the same names under
    ``backbone.`` or ``module.backbone.``, next to the DINO projection head,
    which is dropped, as is a ``head.*`` classifier). Keys it does not know
    are kept as they are, so a strict load reports them.

    Args:
        state (dict): A DINO / timm-named ViT state dict.

    Returns:
        dict: The state dict in mmpretrain ``VisionTransformer`` names.
    """
    state = {
        k[len('module.'):] if k.startswith('module.') else k: v
        for k, v in state.items()
    }
    if any(k.startswith('backbone.') for k in state):
        state = {
            k[len('backbone.'):]: v
            for k, v in state.items() if k.startswith('backbone.')
        }
    converted = {}
    for key, value in state.items():
        if key.startswith('head.'):
            continue
        for pattern, replacement in _DINO_TO_MMPRETRAIN:
            new_key, n = re.subn(pattern, replacement, key)
            if n:
                break
        converted[new_key if n else key] = value
    return converted


@MODELS.register_module()
class DINOVisionTransformer(PretrainedMixin, VisionTransformer):
    """mmpretrain's ViT initialised from DINO weights (docs/algorithm.md §2,
    DN384).

    Defaults give DINO's ViT-S/16: ``arch='deit-small'`` (384 channels, 12
    layers, 6 heads, MLP 1536), 16-pixel patches, ``qkv_bias``, LayerNorm
    eps 1e-6 and the final norm. ``forward`` returns ``(cls, )``, the CLS
    token of the last layer after the final norm, ``[B, 384]``, which
    ``EmbeddingNeck(384, 384, pooling='none', orthogonal_init=True)`` embeds.

    ``pretrained`` is converted from DINO's names on load (see
    :func:`convert_dino_vit`); the positional embedding is resized
    (bicubic) from the checkpoint's grid (14x14 at 224 pixels) to
    ``img_size / patch_size``, and inputs of other sizes are handled in
    ``forward`` as in mmpretrain.

    Args:
        arch (str | dict): mmpretrain ViT arch. Defaults to ``'deit-small'``
            (mmpretrain's: ``'base'``).
        pretrained (str, optional): Local path or URL (``DINO_VITS16``) of
            the released backbone weights or of a full DINO checkpoint,
            loaded by ``init_weights``. Offline, pass the downloaded file or
            put it in the torch hub cache (``~/.cache/torch/hub/
            checkpoints/``). Defaults to None (mmpretrain's initialisation).
        checkpoint_key (str): Which network of a full DINO checkpoint to
            load, ``'teacher'`` (what DINO evaluates and releases) or
            ``'student'``. Ignored for plain state dicts. Defaults to
            ``'teacher'``.
        **kwargs: Other mmpretrain ``VisionTransformer`` arguments, whose
            defaults are DINO's (``img_size=224``, ``patch_size=16``,
            ``qkv_bias=True``, ``final_norm=True``,
            ``out_type='cls_token'``; ``drop_path_rate``,
            ``frozen_stages``, ``interpolate_mode``, ...); no ``init_cfg``
            of type ``'Pretrained'`` with ``pretrained``.
    """

    def __init__(self,
                 arch: str = 'deit-small',
                 pretrained: Optional[str] = None,
                 checkpoint_key: str = 'teacher',
                 **kwargs) -> None:
        self.check_pretrained_args(pretrained, kwargs.get('init_cfg'),
                                   'DINOVisionTransformer')
        super().__init__(arch=arch, **kwargs)
        self.pretrained = pretrained
        self.checkpoint_key = checkpoint_key

    official_weights = DINO_VITS16

    @property
    def pretrained_wrapper_keys(self) -> Tuple[str, ...]:
        return (self.checkpoint_key, 'state_dict', 'model')

    def convert_pretrained(
            self, state: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        return convert_dino_vit(state)


__all__ = ['DINOVisionTransformer', 'convert_dino_vit']
