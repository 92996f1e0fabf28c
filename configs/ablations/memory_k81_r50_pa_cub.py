# Memory graph ablation (docs/algorithm.md §10), R512 / Proxy Anchor (PA) /
# CUB: configs/gcahng/r50_pa_cub.py with K = B = 81.
_base_ = ['../gcahng/r50_pa_cub.py']

model = dict(memory=dict(size=81))
