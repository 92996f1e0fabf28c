from .dino_vit import DINOVisionTransformer, convert_dino_vit
from .googlenet import GoogLeNet
from .pretrained import (PretrainedWeightsError, load_pretrained_state_dict,
                         resolve_pretrained_source)
from .resnet import TorchvisionResNet, convert_torchvision_resnet

__all__ = [
    'GoogLeNet', 'TorchvisionResNet', 'DINOVisionTransformer',
    'PretrainedWeightsError', 'load_pretrained_state_dict',
    'resolve_pretrained_source', 'convert_torchvision_resnet',
    'convert_dino_vit'
]
