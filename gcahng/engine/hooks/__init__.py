from .atomic_checkpoint_hook import AtomicCheckpointHook
from .backbone_warmup_hook import BackboneWarmupHook
from .epoch_loss_hooks import (BalanceFactorHook, EpochMeanLossHook,
                               HardnessScheduleHook)
from .epoch_reseed_hook import EpochReseedHook
from .eval_progress_bar_hook import EvalProgressBarHook
from .finite_loss_hook import FiniteLossHook, NonFiniteLossError
from .global_batch_hook import GlobalBatchHook
from .graph_health_hook import GraphHealthHook
from .schedule_from_config_hook import ScheduleFromConfigHook

__all__ = [
    'AtomicCheckpointHook', 'BackboneWarmupHook', 'BalanceFactorHook',
    'EpochMeanLossHook', 'EpochReseedHook', 'EvalProgressBarHook',
    'FiniteLossHook', 'GlobalBatchHook', 'GraphHealthHook',
    'HardnessScheduleHook', 'NonFiniteLossError', 'ScheduleFromConfigHook'
]
