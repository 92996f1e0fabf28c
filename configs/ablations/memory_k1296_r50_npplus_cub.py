# Memory graph ablation (docs/algorithm.md §10), R512 / NP+ / CUB:
# configs/gcahng/r50_npplus_cub.py with K = 16B = 1296.
_base_ = ['../gcahng/r50_npplus_cub.py']

model = dict(memory=dict(size=1296))
