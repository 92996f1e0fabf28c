# GCA-HNG on the icon-theme benchmark (real images, built offline by
# tools/dataset_converters/icon_themes.py): the demo's model and GCA-HNG
# settings (ResNet-18, 128-d, Proxy Anchor, 16x3 batches, lr 1e-3) on
# 100 train classes. benchmarks/learning.py compares it with its twin
# configs/baselines/r18_pa_icons.py.
_base_ = [
    '../_base_/models/r18_pa_gcahng.py',
    '../_base_/datasets/icon_themes.py',
    '../_base_/schedules/gcahng_adamw_8e.py',
    '../_base_/cpu_runtime.py',
]

model = dict(
    loss_metric=dict(num_classes={{_base_.num_train_classes}}),
    graph_head=dict(num_classes={{_base_.num_train_classes}}))
default_hooks = dict(checkpoint=dict(interval=8))
