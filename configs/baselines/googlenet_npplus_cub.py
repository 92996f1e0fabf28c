# Baseline (no hard negative generation), G512 (GoogLeNet, avg pool, D=512),
# modified N-pair (NP+), CUB-200-2011.
# docs/settings.md row "G512 CUB-200-2011".
# Twin of configs/gcahng/googlenet_npplus_cub.py: same model, data, seed and
# metric-model schedule, without the graph head and CACAI.
_base_ = [
    '../_base_/models/googlenet.py',
    '../_base_/datasets/cub.py',
    '../_base_/schedules/baseline_adamw_150e.py',
    '../_base_/default_runtime.py',
]

model = dict(frozen_bn2d=True)
optim_wrapper = dict(optimizer=dict(lr=1e-4))
param_scheduler = _base_.param_scheduler
param_scheduler[0].step_size = 30  # StepLR
