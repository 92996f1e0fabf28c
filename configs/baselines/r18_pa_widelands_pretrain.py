# Pretraining for the "pretrained on other classes" regime of
# benchmarks/learning.py on the Widelands benchmark: the PA baseline on the
# objects that are in neither split (data/widelands_pretrain: 39 classes to
# train on, 10 to validate on), 30 epochs, StepLR halving every 20.
_base_ = ['./r18_pa_widelands.py']

data_root = 'data/widelands_pretrain'
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
model = dict(loss_metric=dict(num_classes=39))
train_cfg = dict(max_epochs=30, val_interval=30)
param_scheduler = _base_.param_scheduler
param_scheduler[0].step_size = 20
default_hooks = dict(checkpoint=dict(interval=30))
