# Baseline (no hard negative generation), R512 (ResNet-50, avg+max pool,
# D=512), modified N-pair (NP+), Cars196.
# docs/settings.md row "R512 Cars196".
# Paper results: configs/baselines/metafile.yml.
# Twin of configs/gcahng/r50_npplus_cars196.py: same model, data, seed and
# metric-model schedule, without the graph head and CACAI.
_base_ = [
    '../_base_/models/r50.py',
    '../_base_/datasets/cars196.py',
    '../_base_/schedules/baseline_adamw_200e.py',
    '../_base_/default_runtime.py',
]

model = dict(frozen_bn2d=True)
param_scheduler = _base_.param_scheduler
param_scheduler[0].step_size = 10  # StepLR
custom_hooks = _base_.custom_hooks
custom_hooks[0].warmup_epochs = 2  # BackboneWarmupHook
