# Cars196 (docs/datasets.md): classes 1-98 train (8,054 images), 99-196 test
# (8,131), from `car_ims/` + `cars_annos.mat` or the devkit layout (see
# data/README.md); 27 x 3 batches, R@1/2/4/8.
_base_ = ['./dml_224.py']

num_train_classes = 98
dataset_type = 'Cars196'
data_root = 'data/cars196'
train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = val_dataloader
