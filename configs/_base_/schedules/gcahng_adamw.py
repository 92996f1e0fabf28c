# GCA-HNG schedule (docs/algorithm.md §6): three AdamW optimisers, gradients
# clipped by value at 10; StepLR for the metric model, cosine over the whole
# run for the graph head, constant lr 1e-3 for h1; the backbone warm-up, the
# hardness / balance factor hooks and the graph head's health warning. The
# run-length files (gcahng_adamw_<N>e.py) set max_epochs, the StepLR step and
# the warm-up; leaf configs set the lrs. The cosine states no T_max and no
# end: MMEngine's Runner ends a scheduler without `end` at the train loop's
# max_epochs, and a cosine without T_max runs from `begin` to `end`, so it
# follows any max_epochs (`--cfg-options train_cfg.max_epochs=N` included).
optim_wrapper = dict(
    constructor='MultiOptimWrapperConstructor',
    metric=dict(
        type='OptimWrapper',
        modules=('backbone', 'neck', 'loss_metric'),
        optimizer=dict(type='AdamW', lr=1.5e-4, weight_decay=1e-4),
        clip_grad=dict(type='value', clip_value=10.0),
        paramwise_cfg=dict(
            custom_keys={'loss_metric.proxies': dict(lr_mult=100)})),
    graph=dict(
        type='OptimWrapper',
        modules=('graph_head', ),
        optimizer=dict(type='AdamW', lr=1.5e-4, weight_decay=1e-4),
        clip_grad=dict(type='value', clip_value=10.0)),
    cls=dict(
        type='OptimWrapper',
        modules=('classifier', ),
        optimizer=dict(type='AdamW', lr=1e-3)),
)
param_scheduler = dict(
    metric=[dict(type='StepLR', by_epoch=True, step_size=10, gamma=0.5)],
    graph=[dict(type='CosineAnnealingLR', by_epoch=True, eta_min=0.0)],
    cls=[],
)
custom_hooks = [
    dict(type='BackboneWarmupHook', warmup_epochs=1),
    dict(type='HardnessScheduleHook'),
    dict(type='BalanceFactorHook'),
    dict(type='GraphHealthHook'),  # warns if the node accuracy stays at chance
]
train_cfg = dict(by_epoch=True, max_epochs=100, val_interval=5)
val_cfg = dict()
test_cfg = dict()

# DDP: a model with three optimisers and its own train_step cannot go
# through MMDistributedDataParallel.train_step. Each child is wrapped on its
# own; the graph head runs twice per iteration and leaves read-outs unused
# in each pass (λ in step 2, node logits in step 4), hence
# find_unused_parameters.
model_wrapper_cfg = dict(
    type='MMSeparateDistributedDataParallel',
    broadcast_buffers=False,
    find_unused_parameters=True)
