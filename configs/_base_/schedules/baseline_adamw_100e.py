# The baseline schedule (./baseline_adamw.py) for a 100-epoch run: the metric-
# model schedule of ./gcahng_adamw_100e.py.
_base_ = ['./baseline_adamw.py']

train_cfg = dict(max_epochs=100)
param_scheduler = _base_.param_scheduler
param_scheduler[0].step_size = 10

custom_hooks = _base_.custom_hooks
custom_hooks[0].warmup_epochs = 2  # BackboneWarmupHook
