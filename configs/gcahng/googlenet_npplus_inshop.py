# GCA-HNG, G512 (GoogLeNet, avg pool, D=512), modified N-pair (NP+), InShop.
# docs/settings.md row "G512 InShop".
# Paper results: configs/gcahng/metafile.yml.
_base_ = [
    '../_base_/models/googlenet_gcahng_sop_inshop.py',
    '../_base_/datasets/inshop.py',
    '../_base_/schedules/gcahng_adamw_200e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    graph_head=dict(num_classes={{_base_.num_train_classes}}),
    hardness_alpha=2.0)
optim_wrapper = dict(
    metric=dict(optimizer=dict(lr=3e-4)),
    graph=dict(optimizer=dict(lr=1.5e-4)))
param_scheduler = _base_.param_scheduler
param_scheduler.metric[0].step_size = 15  # StepLR
