# GCA-HNG, G512 (GoogLeNet, avg pool, D=512), modified N-pair (NP+), Stanford
# Online Products.
# docs/settings.md row "G512 SOP".
# Paper results: configs/gcahng/metafile.yml.
_base_ = [
    '../_base_/models/googlenet_gcahng_sop_inshop.py',
    '../_base_/datasets/sop.py',
    '../_base_/schedules/gcahng_adamw_150e.py',
    '../_base_/default_runtime.py',
]

model = dict(graph_head=dict(num_classes={{_base_.num_train_classes}}))
optim_wrapper = dict(
    metric=dict(optimizer=dict(lr=3e-4)),
    graph=dict(optimizer=dict(lr=1.5e-4)))
param_scheduler = _base_.param_scheduler
param_scheduler.metric[0].step_size = 15  # StepLR
