# Baseline (no hard negative generation), R512 (ResNet-50, avg+max pool,
# D=512), modified N-pair (NP+), Cars196.
# SPEC §7 row "R512 Cars196".
# Paper baseline (SPEC §10): R@1 84.8.
# Twin of configs/gcahng/r50_npplus_cars196.py: same model, data, seed and
# metric-model schedule, without the graph head and CACAI.
_base_ = [
    '../_base_/models/r50.py',
    '../_base_/datasets/cars196.py',
    '../_base_/schedules/baseline_adamw.py',
    '../_base_/default_runtime.py',
]

model = dict(
    frozen_bn2d=True, loss_metric=dict(type='NPairLoss', reg_weight=3e-3))
optim_wrapper = dict(optimizer=dict(lr=1.5e-4))
param_scheduler = [dict(type='StepLR', by_epoch=True, step_size=10, gamma=0.5)]
custom_hooks = [dict(type='BackboneWarmupHook', warmup_epochs=2)]
train_cfg = dict(max_epochs=200)
