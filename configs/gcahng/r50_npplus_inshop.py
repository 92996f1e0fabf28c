# GCA-HNG, R512 (ResNet-50, avg+max pool, D=512), modified N-pair (NP+),
# InShop.
# docs/settings.md row "R512 InShop".
# Paper results: configs/gcahng/metafile.yml.
_base_ = [
    '../_base_/models/r50_gcahng_sop_inshop.py',
    '../_base_/datasets/inshop.py',
    '../_base_/schedules/gcahng_adamw_200e.py',
    '../_base_/default_runtime.py',
]

model = dict(graph_head=dict(num_classes={{_base_.num_train_classes}}))
optim_wrapper = dict(metric=dict(optimizer=dict(lr=2e-4)))
