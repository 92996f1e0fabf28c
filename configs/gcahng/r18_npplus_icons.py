# configs/gcahng/r18_pa_icons.py with the modified N-pair loss (NP+) as
# L_m (w_div = 60 as in the NP+ rows of the paper), trained 16 epochs
# instead of 8 (chosen on the development split: README, "Does it help on
# real images?").
_base_ = [
    '../_base_/models/r18_pa_gcahng.py',
    '../_base_/datasets/icon_themes.py',
    '../_base_/schedules/gcahng_adamw_16e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    loss_metric=dict(_delete_=True, type='NPairLoss', reg_weight=3e-3),
    graph_head=dict(num_classes={{_base_.num_train_classes}}),
    loss_div=dict(loss_weight=0.6),
    # NP+ keeps the embedding's scale in check: the Euclidean form of
    # docs/algorithm.md, L_syn as the authors wrote it
    hng_geometry='euclidean',
    loss_syn=dict(_delete_=True, type='SyntheticPairLoss'),
    syn_grad='all')
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=16))
