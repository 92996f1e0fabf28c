# configs/gcahng/r18_pa_icons.py with a separate AdamW state for the graph
# head's update in the generation stage (L_gen): the authors' code steps
# L_gce (metric stage) and L_gen through one optimiser, whose moments the
# larger L_gen dominates. An option, not a default (see the README's
# real-data section).
# The `gen` wrapper is the graph head's (same modules, AdamW, clipping and
# cosine) on the same parameters.
_base_ = ['../gcahng/r18_pa_icons.py']

optim_wrapper = dict(gen=dict(_base_.optim_wrapper.graph, shares_params=True))
param_scheduler = dict(gen=[dict(_base_.param_scheduler.graph[0])])
model = dict(memory=None)  # as measured, before the memory default
