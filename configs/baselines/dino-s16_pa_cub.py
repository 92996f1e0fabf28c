# Baseline (no hard negative generation), DN384 (DINO ViT-S/16, CLS token,
# D=384), Proxy Anchor (PA), CUB-200-2011.
# SPEC §7 row "DN384 CUB-200-2011".
# Twin of configs/gcahng/dino-s16_pa_cub.py: same model, data, seed and
# metric-model schedule, without the graph head and CACAI.
_base_ = [
    '../_base_/models/dino-s16.py',
    '../_base_/datasets/cub.py',
    '../_base_/schedules/baseline_adamw.py',
    '../_base_/default_runtime.py',
]

model = dict(
    loss_metric=dict(
        type='ProxyAnchorLoss',
        num_classes={{_base_.num_train_classes}},
        embed_dim={{_base_.embed_dim}},
        margin=0.1,
        alpha=32.0))
optim_wrapper = dict(optimizer=dict(lr=1e-5))
param_scheduler = [dict(type='StepLR', by_epoch=True, step_size=20, gamma=0.5)]
custom_hooks = [dict(type='BackboneWarmupHook', warmup_epochs=2)]
train_cfg = dict(max_epochs=50)
