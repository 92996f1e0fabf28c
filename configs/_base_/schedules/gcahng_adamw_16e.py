# gcahng_adamw_8e.py run twice as long: 16 epochs, StepLR halving after
# epoch 12, the graph head's cosine over the 16 epochs. The NP+ icon-theme
# rows use it: at 8 epochs their graph head's node classifier has not yet
# learned (README, "Does it help on real images?").
_base_ = ['./gcahng_adamw_8e.py']

train_cfg = dict(max_epochs=16, val_interval=16)
param_scheduler = _base_.param_scheduler
param_scheduler.metric[0].step_size = 12
