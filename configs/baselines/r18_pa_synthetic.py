# Baseline twin of configs/gcahng/r18_pa_synthetic.py: same model, data,
# seed and schedule, no hard negative generation.
_base_ = [
    '../_base_/models/r18_pa_baseline.py',
    '../_base_/datasets/synthetic.py',
    '../_base_/schedules/baseline_adamw_8e.py',
    '../_base_/cpu_runtime.py',
]
