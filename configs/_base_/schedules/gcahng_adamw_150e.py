# The GCA-HNG schedule (./gcahng_adamw.py) for a 150-epoch run: the graph
# head's cosine over all 150 epochs, StepLR halving the metric model's lr every
# 20 epochs and the backbone frozen for 1 epoch, as in most of the paper's
# 150-epoch rows (docs/settings.md); a row with another step or warm-up says
# so.
_base_ = ['./gcahng_adamw.py']

train_cfg = dict(max_epochs=150)
param_scheduler = _base_.param_scheduler
param_scheduler.metric[0].step_size = 20
