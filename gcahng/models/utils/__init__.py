from .batch_layout import group_layout
from .frozen import frozen_parameters

__all__ = ['frozen_parameters', 'group_layout']
