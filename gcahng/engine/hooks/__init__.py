from .backbone_warmup_hook import BackboneWarmupHook
from .epoch_loss_hooks import (BalanceFactorHook, EpochMeanLossHook,
                               HardnessScheduleHook)
from .epoch_reseed_hook import EpochReseedHook
from .eval_progress_bar_hook import EvalProgressBarHook
from .finite_loss_hook import FiniteLossHook, NonFiniteLossError

__all__ = [
    'BackboneWarmupHook', 'BalanceFactorHook', 'EpochMeanLossHook',
    'EpochReseedHook', 'EvalProgressBarHook', 'FiniteLossHook',
    'HardnessScheduleHook', 'NonFiniteLossError'
]
