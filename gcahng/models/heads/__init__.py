from .gcl_head import GCLHead

__all__ = ['GCLHead']
