# configs/gcahng/r18_pa_icons.py with a separate AdamW state for the graph
# head's generation update (L_gen, stage 4): the authors' code steps L_gce
# (stage 2) and L_gen through one optimiser, whose moments the larger L_gen
# dominates. An option, not a default (see the README's real-data section).
_base_ = ['../gcahng/r18_pa_icons.py']

optim_wrapper = dict(
    gen=dict(
        type='OptimWrapper',
        modules=('graph_head', ),
        shares_params=True,
        optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-4),
        clip_grad=dict(type='value', clip_value=10.0)))
param_scheduler = dict(
    gen=[dict(type='CosineAnnealingLR', by_epoch=True, T_max=8, eta_min=0.0)])
