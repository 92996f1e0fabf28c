# Baseline (no hard negative generation), G512 (GoogLeNet, avg pool, D=512),
# N-pair (NP, 40x2 batches), CUB-200-2011.
# SPEC §7 row "G512 CUB-200-2011".
# Twin of configs/gcahng/googlenet_np_cub.py: same model, data, seed and
# metric-model schedule, without the graph head and CACAI.
_base_ = [
    '../_base_/models/googlenet.py',
    '../_base_/datasets/cub.py',
    '../_base_/schedules/baseline_adamw.py',
    '../_base_/default_runtime.py',
]

model = dict(
    frozen_bn2d=True, loss_metric=dict(type='NPairLoss', reg_weight=3e-3))
train_dataloader = dict(
    batch_size=80,
    sampler=dict(num_classes_per_batch=40, num_samples_per_class=2))
optim_wrapper = dict(optimizer=dict(lr=1e-4))
param_scheduler = [dict(type='StepLR', by_epoch=True, step_size=30, gamma=0.5)]
custom_hooks = [dict(type='BackboneWarmupHook', warmup_epochs=1)]
train_cfg = dict(max_epochs=150)
