# The GCA-HNG schedule for a 50-epoch run: ./gcahng_adamw_100e.py (the
# backbone frozen for 2 epochs) with the graph head's cosine over all 50
# epochs and StepLR halving the metric model's lr every 20 epochs, as in the
# paper's 50-epoch row (docs/settings.md).
_base_ = ['./gcahng_adamw_100e.py']

train_cfg = dict(max_epochs=50)
param_scheduler = _base_.param_scheduler
param_scheduler.metric[0].step_size = 20
