# configs/gcahng/r18_pa_widelands.py with the modified N-pair loss (NP+),
# as configs/gcahng/r18_npplus_icons.py: w_div = 60, the Euclidean form,
# 16 epochs.
_base_ = [
    '../_base_/models/r18_npplus_gcahng.py',
    '../_base_/datasets/widelands.py',
    '../_base_/schedules/gcahng_adamw_16e.py',
    '../_base_/cpu_runtime.py',
]

model = dict(graph_head=dict(num_classes={{_base_.num_train_classes}}))
default_hooks = dict(checkpoint=dict(interval=16))
