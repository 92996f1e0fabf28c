# configs/gcahng/r18_pa_icons.py with a separate AdamW state for the graph
# head's generation update (L_gen, stage 4): the authors' code steps L_gce
# (stage 2) and L_gen through one optimiser, whose moments the larger L_gen
# dominates. An option, not a default (see the README's real-data section).
# The `gen` wrapper is the graph head's (same modules, AdamW, clipping and
# cosine) on the same parameters.
_base_ = ['../gcahng/r18_pa_icons.py']

optim_wrapper = dict(gen=dict(_base_.optim_wrapper.graph, shares_params=True))
param_scheduler = dict(gen=[dict(_base_.param_scheduler.graph[0])])
