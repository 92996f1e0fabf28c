# The built-in procedurally generated fine-grained dataset: no download.
# 64 classes (32 train, 32 disjoint test), 40 images each, 64x64 pixels.
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
    batch_size=48,  # N x M = 16 classes x 3 samples
    num_workers=0,
    sampler=dict(
        type='BalancedClassSampler',
        num_classes_per_batch=16,
        num_samples_per_class=3),
    dataset=dict(
        type=dataset_type,
        split='train',
        num_classes=64,
        samples_per_class=40,
        img_size=64,
        pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=64,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        split='test',
        num_classes=64,
        samples_per_class=40,
        img_size=64,
        test_mode=True,
        pipeline=test_pipeline),
)
val_evaluator = dict(type='RetrievalMetric', topk=(1, 2, 4, 8))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
