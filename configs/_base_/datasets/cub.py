# CUB-200-2011 (docs/datasets.md): classes 1-100 train (5,864 images), 101-200
# test (5,924), read in place from the original download (see data/README.md);
# 27 x 3 batches, R@1/2/4/8.
_base_ = ['./dml_224.py']

num_train_classes = 100
dataset_type = 'CUB'
data_root = 'data/CUB_200_2011'
train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = val_dataloader
