from .default_constructor import DefaultOptimWrapperConstructor
from .multi_optim_wrapper_constructor import MultiOptimWrapperConstructor

__all__ = ['DefaultOptimWrapperConstructor', 'MultiOptimWrapperConstructor']
