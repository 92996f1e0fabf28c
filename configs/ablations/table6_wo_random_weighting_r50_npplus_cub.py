# Ablation on R512 / NP+ / CUB-200-2011 (configs/gcahng/r50_npplus_cub.py).
# Table 6, "w/o random weighting": one of the M interpolations picked at
# random instead of fusing them (docs/algorithm.md §4).
_base_ = ['../gcahng/r50_npplus_cub.py']

model = dict(generator=dict(fusion='random_pick'))
