# The baseline schedule for a 50-epoch run: ./baseline_adamw_100e.py (the
# backbone frozen for 2 epochs) with StepLR halving every 20 epochs, the
# metric-model schedule of ./gcahng_adamw_50e.py.
_base_ = ['./baseline_adamw_100e.py']

train_cfg = dict(max_epochs=50)
param_scheduler = _base_.param_scheduler
param_scheduler[0].step_size = 20
