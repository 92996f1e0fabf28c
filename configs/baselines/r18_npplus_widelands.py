# Baseline twin of configs/gcahng/r18_npplus_widelands.py (NP+, 16 epochs).
_base_ = [
    '../_base_/models/r18_npplus_baseline.py',
    '../_base_/datasets/widelands.py',
    '../_base_/schedules/baseline_adamw_16e.py',
    '../_base_/cpu_runtime.py',
]

default_hooks = dict(checkpoint=dict(interval=16))
