# The baseline schedule (./baseline_adamw.py) for a 200-epoch run: the metric-
# model schedule of ./gcahng_adamw_200e.py.
_base_ = ['./baseline_adamw.py']

train_cfg = dict(max_epochs=200)
param_scheduler = _base_.param_scheduler
param_scheduler[0].step_size = 20
