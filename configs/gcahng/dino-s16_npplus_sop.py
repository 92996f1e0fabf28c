# GCA-HNG, DN384 (DINO ViT-S/16, CLS token, D=384), modified N-pair (NP+),
# Stanford Online Products.
# docs/settings.md row "DN384 SOP".
# Paper results: configs/gcahng/metafile.yml.
_base_ = [
    '../_base_/models/dino-s16_gcahng_sop_inshop.py',
    '../_base_/datasets/sop.py',
    '../_base_/schedules/gcahng_adamw_200e.py',
    '../_base_/default_runtime.py',
]

model = dict(graph_head=dict(num_classes={{_base_.num_train_classes}}))
optim_wrapper = dict(
    metric=dict(optimizer=dict(lr=1.5e-5)),
    graph=dict(optimizer=dict(lr=3e-4)))
