# Baseline twin of gcahng_adamw_8e.py: lr 1e-3, StepLR halving after epoch
# 6, 8 epochs.
_base_ = ['./baseline_adamw.py']

optim_wrapper = dict(optimizer=dict(lr=1e-3))
train_cfg = dict(max_epochs=8, val_interval=8)
param_scheduler = _base_.param_scheduler
param_scheduler[0].step_size = 6
