# Real-image benchmark built offline from the freedesktop icon themes
# (tools/dataset_converters/icon_themes.py): a class is an icon name, a
# sample is one theme family's drawing of it, 48 px on white. CUB layout
# (IconThemes reader):
# classes 1-100 train (1,559 images), 101-200 test (1,525). 40 px crops
# without flips (icons have a direction: go-next / go-previous).
_base_ = ['./cpu_16x3.py']

dataset_type = 'IconThemes'
data_root = 'data/icon_themes'
num_train_classes = 100

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=40, crop_ratio_range=(0.5, 1.0)),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='CenterCrop', crop_size=40),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    dataset=dict(
        type=dataset_type, data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=128,
    dataset=dict(
        type=dataset_type, data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
