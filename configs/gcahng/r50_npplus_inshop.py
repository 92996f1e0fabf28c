# GCA-HNG, R512 (ResNet-50, avg+max pool, D=512), modified N-pair (NP+),
# InShop.
# docs/settings.md row "R512 InShop".
# Paper results: configs/gcahng/metafile.yml.
_base_ = [
    '../_base_/models/r50_gcahng.py',
    '../_base_/datasets/inshop.py',
    '../_base_/schedules/gcahng_adamw_200e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    frozen_bn2d=False,
    graph_head=dict(
        num_classes={{_base_.num_train_classes}}, num_layers=1, num_heads=2),
    loss_sim=dict(loss_weight=20.0),  # w_sim
    loss_div=dict(loss_weight=0.6))  # 0.01 * w_div, w_div = 60
optim_wrapper = dict(
    metric=dict(optimizer=dict(lr=2e-4)),
    graph=dict(optimizer=dict(lr=1.5e-4)))
