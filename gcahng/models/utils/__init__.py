from .attention import MaskedMultiHeadAttention, PairAttention
from .batch_layout import group_layout
from .edge_layout import EdgeLayout, correlation_edges, unit_centred
from .frozen import frozen_parameters
from .global_batch import (GlobalBatch, distributed_world_size,
                           gather_global_batch)
from .global_batchnorm import GlobalBatchNorm, convert_global_batchnorm
from .graph_steps import EdgeModel, NodeLayer, NodeModel

__all__ = [
    'EdgeLayout', 'EdgeModel', 'MaskedMultiHeadAttention', 'NodeLayer',
    'NodeModel', 'PairAttention', 'correlation_edges', 'frozen_parameters',
    'group_layout', 'unit_centred', 'GlobalBatch', 'GlobalBatchNorm',
    'convert_global_batchnorm', 'distributed_world_size', 'gather_global_batch'
]
