# Real-image benchmark built offline from the freedesktop icon themes
# (tools/dataset_converters/icon_themes.py): a class is an icon name, a
# sample is one theme family's drawing of it, 48 px on white. CUB layout
# (IconThemes reader):
# classes 1-100 train (1,559 images), 101-200 test (1,525). 40 px crops
# without flips (icons have a direction: go-next / go-previous).
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
    batch_size=48,  # N x M = 16 classes x 3 samples
    num_workers=0,
    sampler=dict(
        type='BalancedClassSampler',
        num_classes_per_batch=16,
        num_samples_per_class=3),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=128,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='test',
        test_mode=True,
        pipeline=test_pipeline),
)
val_evaluator = dict(type='RetrievalMetric', topk=(1, 2, 4, 8))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
