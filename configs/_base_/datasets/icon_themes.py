# Real-image benchmark built offline from the freedesktop icon themes
# (tools/dataset_converters/icon_themes.py): a class is an icon name, a
# sample is one theme family's drawing of it, 48 px on white. CUB layout
# (IconThemes reader):
# classes 1-100 train (1,559 images), 101-200 test (1,525).
_base_ = ['./real_48px.py']

dataset_type = 'IconThemes'
data_root = 'data/icon_themes'
num_train_classes = 100

train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = val_dataloader
