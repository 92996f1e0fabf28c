# Baseline twin of gcahng_adamw_16e.py: lr 1e-3, StepLR halving after epoch
# 12, 16 epochs.
_base_ = ['./baseline_adamw_8e.py']

train_cfg = dict(max_epochs=16, val_interval=16)
param_scheduler = _base_.param_scheduler
param_scheduler[0].step_size = 12
