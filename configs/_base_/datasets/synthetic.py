# The built-in procedurally generated fine-grained dataset: no download.
# 64 classes (32 train, 32 disjoint test), 40 images each, 64x64 pixels.
_base_ = ['./cpu_16x3.py']

dataset_type = 'SyntheticFineGrained'
num_train_classes = 32

train_pipeline = [
    dict(type='RandomResizedCrop', scale=56, crop_ratio_range=(0.5, 1.0)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='ResizeEdge', scale=64, edge='short'),
    dict(type='CenterCrop', crop_size=56),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        num_classes=64,
        samples_per_class=40,
        img_size=64,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64,
    dataset=dict(train_dataloader['dataset'], pipeline=test_pipeline))
test_dataloader = val_dataloader
