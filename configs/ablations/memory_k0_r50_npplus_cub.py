# Memory graph ablation (docs/algorithm.md §10), R512 / NP+ / CUB:
# configs/gcahng/r50_npplus_cub.py with K = 0: no memory, the model of
# configs/gcahng (a check that the switch changes nothing).
_base_ = ['../gcahng/r50_npplus_cub.py']

model = dict(memory=dict(size=0))
