# GCA-HNG, G512 (GoogLeNet, avg pool, D=512), modified N-pair (NP+), Cars196.
# docs/settings.md row "G512 Cars196".
# Paper results: configs/gcahng/metafile.yml.
_base_ = [
    '../_base_/models/googlenet_gcahng.py',
    '../_base_/datasets/cars196.py',
    '../_base_/schedules/gcahng_adamw_200e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    frozen_bn2d=True,
    graph_head=dict(
        num_classes={{_base_.num_train_classes}}, num_layers=2, num_heads=4),
    loss_sim=dict(loss_weight=10.0),  # w_sim
    loss_div=dict(loss_weight=0.1),  # 0.01 * w_div, w_div = 10
    hardness_alpha=4.0,
    balance_beta=30.0)
optim_wrapper = dict(
    metric=dict(optimizer=dict(lr=1e-4)), graph=dict(optimizer=dict(lr=3e-4)))
param_scheduler = _base_.param_scheduler
param_scheduler.metric[0].step_size = 30  # StepLR
