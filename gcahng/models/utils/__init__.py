from .attention import MaskedMultiHeadAttention, PairAttention
from .batch_layout import group_layout
from .edge_layout import EdgeLayout, correlation_edges, unit_centred
from .frozen import frozen_parameters
from .graph_steps import EdgeModel, NodeLayer, NodeModel

__all__ = [
    'EdgeLayout', 'EdgeModel', 'MaskedMultiHeadAttention', 'NodeLayer',
    'NodeModel', 'PairAttention', 'correlation_edges', 'frozen_parameters',
    'group_layout', 'unit_centred'
]
