from .googlenet import GoogLeNet

__all__ = ['GoogLeNet']
