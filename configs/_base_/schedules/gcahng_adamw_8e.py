# The 8-epoch CPU schedule of the built-in and icon-theme settings: the
# GCA-HNG schedule with lr 1e-3 for the metric model and the graph head,
# StepLR halving after epoch 6, the graph head's cosine over the 8 epochs.
_base_ = ['./gcahng_adamw.py']

optim_wrapper = dict(
    metric=dict(optimizer=dict(lr=1e-3)), graph=dict(optimizer=dict(lr=1e-3)))
train_cfg = dict(max_epochs=8, val_interval=8)
param_scheduler = _base_.param_scheduler
param_scheduler.metric[0].step_size = 6
