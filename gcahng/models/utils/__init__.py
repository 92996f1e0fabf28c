from .batch_layout import group_layout

__all__ = ['group_layout']
