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
    graph_head=dict(num_classes={{_base_.num_train_classes}}))
param_scheduler = _base_.param_scheduler
param_scheduler.metric[0].step_size = 10  # StepLR
custom_hooks = _base_.custom_hooks
custom_hooks[0].warmup_epochs = 2  # BackboneWarmupHook
