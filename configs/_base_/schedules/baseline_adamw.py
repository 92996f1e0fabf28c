# Baseline schedule: one AdamW for the metric model, PA proxies at 100x lr,
# StepLR (docs/algorithm.md §6, docs/settings.md). The run-length files
# (baseline_adamw_<N>e.py) set max_epochs, the step and the warm-up; leaf
# configs set the lr.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1.5e-4, weight_decay=1e-4),
    clip_grad=dict(type='value', clip_value=10.0),
    paramwise_cfg=dict(custom_keys={'loss_metric.proxies': dict(lr_mult=100)}),
)
param_scheduler = [
    dict(type='StepLR', by_epoch=True, step_size=10, gamma=0.5),
]
custom_hooks = [
    dict(type='BackboneWarmupHook', warmup_epochs=1),
]
train_cfg = dict(by_epoch=True, max_epochs=100, val_interval=5)
val_cfg = dict()
test_cfg = dict()

# DDP: during the backbone warm-up the backbone gets no gradients, hence
# find_unused_parameters.
model_wrapper_cfg = dict(
    type='MMDistributedDataParallel', find_unused_parameters=True)
