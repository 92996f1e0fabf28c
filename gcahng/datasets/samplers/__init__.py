from .balanced_sampler import (BalancedClassSampler, BatchSettingError,
                               global_batch_share)
from .global_batch_sampler import GlobalBatchSampler

__all__ = [
    'BalancedClassSampler', 'BatchSettingError', 'GlobalBatchSampler',
    'global_batch_share'
]
