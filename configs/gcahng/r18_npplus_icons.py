# configs/gcahng/r18_pa_icons.py with the modified N-pair loss (NP+) as
# L_m (w_div = 60 as in the NP+ rows of the paper), trained 16 epochs
# instead of 8 (chosen on the development split: README, "Does it help on
# real images?").
_base_ = [
    '../_base_/models/r18_npplus_gcahng.py',
    '../_base_/datasets/icon_themes.py',
    '../_base_/schedules/gcahng_adamw_16e.py',
    '../_base_/cpu_runtime.py',
]

model = dict(graph_head=dict(num_classes={{_base_.num_train_classes}}))
default_hooks = dict(checkpoint=dict(interval=16))
