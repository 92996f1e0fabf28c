# GCA-HNG, R512 (ResNet-50, avg+max pool, D=512), modified N-pair (NP+),
# InShop.
# SPEC §7 row "R512 InShop".
# Paper (SPEC §10): R@1 91.7, RP 71.2, M@R 68.5.
_base_ = [
    '../_base_/models/r50_gcahng.py',
    '../_base_/datasets/inshop.py',
    '../_base_/schedules/gcahng_adamw.py',
    '../_base_/default_runtime.py',
]

model = dict(
    frozen_bn2d=False,
    loss_metric=dict(type='NPairLoss', reg_weight=3e-3),
    graph_head=dict(
        num_classes={{_base_.num_train_classes}}, num_layers=1, num_heads=2),
    loss_sim=dict(loss_weight=20.0),  # w_sim
    loss_div=dict(loss_weight=0.6),  # 0.01 * w_div, w_div = 60
    hardness_alpha=5.0,
    balance_beta=20.0)
optim_wrapper = dict(
    metric=dict(optimizer=dict(lr=2e-4)),
    graph=dict(optimizer=dict(lr=1.5e-4)))
param_scheduler = dict(
    metric=[dict(type='StepLR', by_epoch=True, step_size=20, gamma=0.5)],
    graph=[
        dict(type='CosineAnnealingLR', by_epoch=True, T_max=200, eta_min=0.0)
    ],
    cls=[])
custom_hooks = [
    dict(type='BackboneWarmupHook', warmup_epochs=1),
    dict(type='HardnessScheduleHook'),
    dict(type='BalanceFactorHook'),
]
train_cfg = dict(max_epochs=200)
