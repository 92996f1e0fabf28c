# Baseline twin of configs/gcahng/r18_pa_synthetic.py: same model, data,
# seed and schedule, no hard negative generation.
_base_ = [
    '../_base_/models/r18_pa_baseline.py',
    '../_base_/datasets/synthetic.py',
    '../_base_/schedules/baseline_adamw.py',
    '../_base_/default_runtime.py',
]

optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = [dict(type='StepLR', by_epoch=True, step_size=6, gamma=0.5)]
train_cfg = dict(max_epochs=8, val_interval=8)
default_hooks = dict(logger=dict(interval=10))
