# GCA-HNG, R512 (ResNet-50, avg+max pool, D=512), modified N-pair (NP+),
# CUB-200-2011.
# docs/settings.md row "R512 CUB-200-2011".
# Paper results: configs/gcahng/metafile.yml.
_base_ = [
    '../_base_/models/r50_gcahng.py',
    '../_base_/datasets/cub.py',
    '../_base_/schedules/gcahng_adamw_100e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    frozen_bn2d=True,
    graph_head=dict(num_classes={{_base_.num_train_classes}}))
