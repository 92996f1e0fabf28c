# GCA-HNG, DN384 (DINO ViT-S/16, CLS token, D=384), modified N-pair (NP+),
# CUB-200-2011.
# SPEC §7 row "DN384 CUB-200-2011".
# Paper (SPEC §10): R@1 78.5, RP 44.4, M@R 33.9.
_base_ = [
    '../_base_/models/dino-s16_gcahng.py',
    '../_base_/datasets/cub.py',
    '../_base_/schedules/gcahng_adamw.py',
    '../_base_/default_runtime.py',
]

model = dict(
    loss_metric=dict(type='NPairLoss', reg_weight=3e-3),
    graph_head=dict(
        num_classes={{_base_.num_train_classes}}, num_layers=2, num_heads=4),
    loss_sim=dict(loss_weight=20.0),  # w_sim
    loss_div=dict(loss_weight=0.2),  # 0.01 * w_div, w_div = 20
    hardness_alpha=2.0,
    balance_beta=5.0)
optim_wrapper = dict(
    metric=dict(optimizer=dict(lr=1e-5)), graph=dict(optimizer=dict(lr=3e-4)))
param_scheduler = dict(
    metric=[dict(type='StepLR', by_epoch=True, step_size=20, gamma=0.5)],
    graph=[
        dict(type='CosineAnnealingLR', by_epoch=True, T_max=50, eta_min=0.0)
    ],
    cls=[])
custom_hooks = [
    dict(type='BackboneWarmupHook', warmup_epochs=2),
    dict(type='HardnessScheduleHook'),
    dict(type='BalanceFactorHook'),
]
train_cfg = dict(max_epochs=50)
