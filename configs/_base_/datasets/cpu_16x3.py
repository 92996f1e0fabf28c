# Shared data settings of the two CPU datasets (the built-in synthetic one
# and the icon themes): balanced 16 x 3 batches in group order, no loader
# workers, R@1/2/4/8. The dataset files set the dataset, its pipelines and
# the evaluation batch size.
train_dataloader = dict(
    batch_size=48,  # N x M = 16 classes x 3 samples
    num_workers=0,
    sampler=dict(
        type='BalancedClassSampler',
        num_classes_per_batch=16,
        num_samples_per_class=3),
    # one N x M batch, split over the processes (docs/algorithm.md §9)
    batch_sampler=dict(type='GlobalBatchSampler'),
    dataset=dict(split='train'),
)
val_dataloader = dict(
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(split='test', test_mode=True),
)
val_evaluator = dict(type='RetrievalMetric', topk=(1, 2, 4, 8))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
