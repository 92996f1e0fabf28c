# GCA-HNG on the built-in dataset (what `make demo` trains): ResNet-18,
# 128-d embedding, Proxy Anchor, 16x3 batches, 8 epochs on CPU.
_base_ = [
    '../_base_/models/r18_pa_gcahng.py',
    '../_base_/datasets/synthetic.py',
    '../_base_/schedules/gcahng_adamw.py',
    '../_base_/default_runtime.py',
]

optim_wrapper = dict(
    metric=dict(optimizer=dict(lr=1e-3)), graph=dict(optimizer=dict(lr=1e-3)))
param_scheduler = dict(
    metric=[dict(type='StepLR', by_epoch=True, step_size=6, gamma=0.5)],
    graph=[
        dict(type='CosineAnnealingLR', by_epoch=True, T_max=8, eta_min=0.0)
    ],
    cls=[])
train_cfg = dict(max_epochs=8, val_interval=8)
default_hooks = dict(logger=dict(interval=10))
