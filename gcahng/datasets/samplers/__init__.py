from .balanced_sampler import (BalancedClassSampler, BatchSettingError,
                               global_batch_share)
from .global_batch_sampler import (GlobalBatchSampler, configure_global_batch,
                                   model_global_batch)

__all__ = [
    'BalancedClassSampler', 'BatchSettingError', 'GlobalBatchSampler',
    'configure_global_batch', 'global_batch_share', 'model_global_batch'
]
