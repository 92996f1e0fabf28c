# Baseline (no hard negative generation), G512 (GoogLeNet, avg pool, D=512),
# modified N-pair (NP+), Stanford Online Products.
# docs/settings.md row "G512 SOP".
# Twin of configs/gcahng/googlenet_npplus_sop.py: same model, data, seed and
# metric-model schedule, without the graph head and CACAI.
_base_ = [
    '../_base_/models/googlenet.py',
    '../_base_/datasets/sop.py',
    '../_base_/schedules/baseline_adamw_150e.py',
    '../_base_/default_runtime.py',
]

model = dict(frozen_bn2d=False)
optim_wrapper = dict(optimizer=dict(lr=3e-4))
param_scheduler = _base_.param_scheduler
param_scheduler[0].step_size = 15  # StepLR
