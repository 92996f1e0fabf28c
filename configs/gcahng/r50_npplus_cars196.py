# GCA-HNG, R512 (ResNet-50, avg+max pool, D=512), modified N-pair (NP+),
# Cars196.
# docs/settings.md row "R512 Cars196".
# Paper results: configs/gcahng/metafile.yml.
_base_ = [
    '../_base_/models/r50_gcahng.py',
    '../_base_/datasets/cars196.py',
    '../_base_/schedules/gcahng_adamw_200e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    frozen_bn2d=True,
    graph_head=dict(
        num_classes={{_base_.num_train_classes}}, num_layers=2, num_heads=4),
    loss_sim=dict(loss_weight=20.0),  # w_sim
    loss_div=dict(loss_weight=0.6))  # 0.01 * w_div, w_div = 60
optim_wrapper = dict(
    metric=dict(optimizer=dict(lr=1.5e-4)),
    graph=dict(optimizer=dict(lr=1.5e-4)))
param_scheduler = _base_.param_scheduler
param_scheduler.metric[0].step_size = 10  # StepLR
custom_hooks = _base_.custom_hooks
custom_hooks[0].warmup_epochs = 2  # BackboneWarmupHook
