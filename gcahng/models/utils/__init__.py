from .batch_layout import group_layout
from .frozen import frozen_parameters
from .global_batch import (GlobalBatch, distributed_world_size,
                           gather_global_batch)
from .global_batchnorm import GlobalBatchNorm, convert_global_batchnorm

__all__ = [
    'frozen_parameters', 'group_layout', 'GlobalBatch', 'GlobalBatchNorm',
    'convert_global_batchnorm', 'distributed_world_size', 'gather_global_batch'
]
