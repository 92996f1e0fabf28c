# GCA-HNG, G512 (GoogLeNet, avg pool, D=512), N-pair (NP, 40x2 batches),
# CUB-200-2011.
# SPEC §7 row "G512 CUB-200-2011".
# Paper (SPEC §10): R@1 63.6, RP 34.7, M@R 23.6.
_base_ = [
    '../_base_/models/googlenet_gcahng.py',
    '../_base_/datasets/cub.py',
    '../_base_/schedules/gcahng_adamw.py',
    '../_base_/default_runtime.py',
]

model = dict(
    frozen_bn2d=True,
    loss_metric=dict(type='NPairLoss', reg_weight=3e-3),
    graph_head=dict(
        num_classes={{_base_.num_train_classes}}, num_layers=2, num_heads=4),
    loss_sim=dict(loss_weight=10.0),  # w_sim
    loss_div=dict(loss_weight=0.1),  # 0.01 * w_div, w_div = 10
    hardness_alpha=4.0,
    balance_beta=30.0)
train_dataloader = dict(
    batch_size=80,
    sampler=dict(num_classes_per_batch=40, num_samples_per_class=2))
optim_wrapper = dict(
    metric=dict(optimizer=dict(lr=1e-4)), graph=dict(optimizer=dict(lr=3e-4)))
param_scheduler = dict(
    metric=[dict(type='StepLR', by_epoch=True, step_size=30, gamma=0.5)],
    graph=[
        dict(type='CosineAnnealingLR', by_epoch=True, T_max=150, eta_min=0.0)
    ],
    cls=[])
custom_hooks = [
    dict(type='BackboneWarmupHook', warmup_epochs=1),
    dict(type='HardnessScheduleHook'),
    dict(type='BalanceFactorHook'),
]
train_cfg = dict(max_epochs=150)
