# Baseline (no hard negative generation), G512 (GoogLeNet, avg pool, D=512),
# modified N-pair (NP+), Cars196.
# docs/settings.md row "G512 Cars196".
# Twin of configs/gcahng/googlenet_npplus_cars196.py: same model, data, seed
# and metric-model schedule, without the graph head and CACAI.
_base_ = [
    '../_base_/models/googlenet.py',
    '../_base_/datasets/cars196.py',
    '../_base_/schedules/baseline_adamw_200e.py',
    '../_base_/default_runtime.py',
]

model = dict(frozen_bn2d=True)
optim_wrapper = dict(optimizer=dict(lr=1e-4))
param_scheduler = _base_.param_scheduler
param_scheduler[0].step_size = 30  # StepLR
