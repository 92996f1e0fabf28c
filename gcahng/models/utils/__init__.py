from .attention import MaskedMultiHeadAttention, PairAttention
from .batch_layout import group_layout
from .edge_layout import (BipartiteLayout, EdgeLayout, batch_norm_with,
                          correlation_edges, unit_centred)
from .embedding_memory import (EmbeddingMemory, MemorySettingError,
                               MemorySettings, MemoryView, check_memory_size,
                               memory_settings)
from .frozen import frozen_parameters
from .global_batch import (GlobalBatch, distributed_world_size,
                           gather_global_batch)
from .global_batchnorm import GlobalBatchNorm, convert_global_batchnorm
from .graph_steps import EdgeModel, MemoryGraph, NodeLayer, NodeModel
from .node_accuracy_gate import NodeAccuracyGate, SynGateSettingError

__all__ = [
    'BipartiteLayout', 'EdgeLayout', 'EdgeModel', 'EmbeddingMemory',
    'MaskedMultiHeadAttention', 'MemoryGraph', 'MemorySettingError',
    'MemorySettings', 'MemoryView', 'NodeAccuracyGate', 'NodeLayer',
    'NodeModel', 'PairAttention', 'SynGateSettingError', 'batch_norm_with',
    'check_memory_size', 'correlation_edges', 'frozen_parameters',
    'group_layout', 'memory_settings', 'unit_centred', 'GlobalBatch',
    'GlobalBatchNorm', 'convert_global_batchnorm', 'distributed_world_size',
    'gather_global_batch'
]
