# Baseline twin of configs/gcahng/r18_pa_icons.py: same model, data, seed
# and schedule, no hard negative generation.
_base_ = [
    '../_base_/models/r18_pa_baseline.py',
    '../_base_/datasets/icon_themes.py',
    '../_base_/schedules/baseline_adamw_8e.py',
    '../_base_/cpu_runtime.py',
]

model = dict(loss_metric=dict(num_classes={{_base_.num_train_classes}}))
default_hooks = dict(checkpoint=dict(interval=8))
