from .balanced_sampler import BalancedClassSampler

__all__ = ['BalancedClassSampler']
