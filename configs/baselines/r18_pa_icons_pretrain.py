# Pretraining for the "pretrained on other classes" regime of
# benchmarks/learning.py: the PA baseline on the icon names that are in
# neither split of the icon-theme benchmark (data/icon_themes_pretrain:
# 100 classes to train on, 21 to validate on), 30 epochs, StepLR halving
# every 20.
_base_ = ['./r18_pa_icons.py']

data_root = 'data/icon_themes_pretrain'
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
train_cfg = dict(max_epochs=30, val_interval=30)
param_scheduler = _base_.param_scheduler
param_scheduler[0].step_size = 20
default_hooks = dict(checkpoint=dict(interval=30))
