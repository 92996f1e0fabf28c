# configs/gcahng/r18_pa_widelands.py with the modified N-pair loss (NP+),
# as configs/gcahng/r18_npplus_icons.py: w_div = 60, the Euclidean form,
# 16 epochs.
_base_ = [
    '../_base_/models/r18_pa_gcahng.py',
    '../_base_/datasets/widelands.py',
    '../_base_/schedules/gcahng_adamw_16e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    loss_metric=dict(_delete_=True, type='NPairLoss', reg_weight=3e-3),
    graph_head=dict(num_classes={{_base_.num_train_classes}}),
    loss_div=dict(loss_weight=0.6),
    hng_geometry='euclidean',
    loss_syn=dict(_delete_=True, type='SyntheticPairLoss'),
    syn_grad='all')
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=16))
