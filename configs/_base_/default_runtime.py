# Runtime shared by every config: gcahng scope, logging, checkpoints.
default_scope = 'gcahng'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=20),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='CheckpointHook',
        interval=1,
        max_keep_ckpts=2,
        save_best='retrieval/R@1',
        rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    reseed=dict(type='EpochReseedHook'),
    eval_progress=dict(type='EvalProgressBarHook'),
    finite_loss=dict(type='FiniteLossHook'),  # stop at a NaN/inf loss
    # several processes: the model and the data agree on the global batch
    global_batch=dict(type='GlobalBatchHook'),
)

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)

# TensorBoard event files too when tensorboard is installed (a no-op else).
vis_backends = [
    dict(type='LocalVisBackend'),
    dict(type='OptionalTensorboardVisBackend')
]
visualizer = dict(type='Visualizer', vis_backends=vis_backends)

log_processor = dict(window_size=20)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
