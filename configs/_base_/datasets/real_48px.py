# Shared data settings of the two real-image CPU benchmarks built offline
# (icon themes, Widelands sprites): 48 px images, 40 px crops without flips
# (icons and sprites have a direction: go-next / go-previous, walking east /
# west), 16 x 3 balanced batches (./cpu_16x3.py). The dataset files set the
# reader, its folder and the number of training classes.
_base_ = ['./cpu_16x3.py']

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

train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=128, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
