# Baseline twin of configs/gcahng/r18_npplus_widelands.py (NP+, 16 epochs).
_base_ = [
    '../_base_/models/r18_pa_baseline.py',
    '../_base_/datasets/widelands.py',
    '../_base_/schedules/baseline_adamw_16e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    loss_metric=dict(_delete_=True, type='NPairLoss', reg_weight=3e-3))
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=16))
