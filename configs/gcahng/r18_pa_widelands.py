# GCA-HNG on the Widelands sprite benchmark (real images, built offline by
# tools/dataset_converters/widelands.py): the settings of
# configs/gcahng/r18_pa_icons.py on 65 train classes. benchmarks/learning.py
# compares it with its twin configs/baselines/r18_pa_widelands.py.
_base_ = [
    '../_base_/models/r18_pa_gcahng.py',
    '../_base_/datasets/widelands.py',
    '../_base_/schedules/gcahng_adamw_8e.py',
    '../_base_/cpu_runtime.py',
]

model = dict(
    loss_metric=dict(num_classes={{_base_.num_train_classes}}),
    graph_head=dict(num_classes={{_base_.num_train_classes}}))
default_hooks = dict(checkpoint=dict(interval=8))
