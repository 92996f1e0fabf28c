# Baseline twin of configs/gcahng/r18_pa_icons.py: same model, data, seed
# and schedule, no hard negative generation.
_base_ = [
    '../_base_/models/r18_pa_baseline.py',
    '../_base_/datasets/icon_themes.py',
    '../_base_/schedules/baseline_adamw.py',
    '../_base_/default_runtime.py',
]

model = dict(loss_metric=dict(num_classes={{_base_.num_train_classes}}))
optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = [dict(type='StepLR', by_epoch=True, step_size=6, gamma=0.5)]
train_cfg = dict(max_epochs=8, val_interval=8)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=8))
