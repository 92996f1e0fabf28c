# The GCA-HNG schedule (./gcahng_adamw.py) for a 100-epoch run: the graph
# head's cosine over all 100 epochs, StepLR halving the metric model's lr every
# 10 epochs and the backbone frozen for 2 epochs, as in most of the paper's
# 100-epoch rows (docs/settings.md); a row with another step or warm-up says
# so.
_base_ = ['./gcahng_adamw.py']

train_cfg = dict(max_epochs=100)
param_scheduler = _base_.param_scheduler
param_scheduler.metric[0].step_size = 10

custom_hooks = _base_.custom_hooks
custom_hooks[0].warmup_epochs = 2  # BackboneWarmupHook
