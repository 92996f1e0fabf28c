# The 8-epoch CPU schedule of the built-in and icon-theme settings: the
# GCA-HNG schedule with lr 1e-3 for the metric model and the graph head,
# StepLR halving after epoch 6, the graph head's cosine over the 8 epochs.
_base_ = ['./gcahng_adamw.py']

optim_wrapper = dict(
    metric=dict(optimizer=dict(lr=1e-3)), graph=dict(optimizer=dict(lr=1e-3)))
param_scheduler = dict(
    metric=[dict(type='StepLR', by_epoch=True, step_size=6, gamma=0.5)],
    graph=[
        dict(type='CosineAnnealingLR', by_epoch=True, T_max=8, eta_min=0.0)
    ],
    cls=[])
train_cfg = dict(max_epochs=8, val_interval=8)
