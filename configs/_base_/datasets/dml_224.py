# Shared data settings of the four DML benchmarks (docs/algorithm.md §1, §8;
# docs/settings.md): train RandomResizedCrop 224 (scale 0.08-1) + horizontal
# flip, test resize 256 + center crop 224 (ImageNet mean/std in the model's
# data preprocessor), balanced N x M batches in group order. The dataset files
# set the dataset type, its root, the sampler's N x M and the metric's Ks.
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224, crop_ratio_range=(0.08, 1.0)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=256, edge='short'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=81,  # N x M
    num_workers=8,
    persistent_workers=True,
    sampler=dict(
        type='BalancedClassSampler',
        num_classes_per_batch=27,
        num_samples_per_class=3),
    # one N x M batch, split over the processes (docs/algorithm.md §9)
    batch_sampler=dict(type='GlobalBatchSampler'),
    dataset=dict(split='train', pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=128,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(split='test', pipeline=test_pipeline),
)
val_evaluator = dict(type='RetrievalMetric', topk=(1, 2, 4, 8))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
