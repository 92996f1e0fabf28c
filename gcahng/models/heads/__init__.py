from .gcl_head import GCLHead, correlation_edges

__all__ = ['GCLHead', 'correlation_edges']
