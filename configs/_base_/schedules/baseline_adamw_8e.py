# Baseline twin of gcahng_adamw_8e.py: lr 1e-3, StepLR halving after epoch
# 6, 8 epochs.
_base_ = ['./baseline_adamw.py']

optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = [dict(type='StepLR', by_epoch=True, step_size=6, gamma=0.5)]
train_cfg = dict(max_epochs=8, val_interval=8)
