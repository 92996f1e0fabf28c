# GCA-HNG, R512 (ImageNet ResNet-50, avg+max pool, D=512), Proxy Anchor (PA),
# on your own images listed in a CSV (configs/_base_/datasets/csv.py,
# data/README.md): the model and schedule of ./r50_pa_cub.py (T=2, H=4,
# w_sim = 20, w_div = 20, lr 1.5e-4, 100 epochs). Point it at the data with
# the --cfg-options that tools/dataset_converters/folder_to_csv.py prints
# (data root, CSV, number of training classes, protocol).
_base_ = [
    '../_base_/models/r50_gcahng.py',
    '../_base_/datasets/csv.py',
    '../_base_/schedules/gcahng_adamw_100e.py',
    '../_base_/default_runtime.py',
    '../_base_/models/gcahng_pa.py',
]

model = _base_.pop('gcahng_pa')  # PA GCA-HNG (../_base_/models/gcahng_pa.py)
model.loss_metric.update(
    num_classes=_base_.num_train_classes, embed_dim=_base_.embed_dim)
model.merge(
    dict(
        frozen_bn2d=True,
        graph_head=dict(num_classes=_base_.num_train_classes)))
