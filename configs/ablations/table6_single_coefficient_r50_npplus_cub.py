# Ablation on R512 / NP+ / CUB-200-2011 (configs/gcahng/r50_npplus_cub.py).
# Table 6, "single coefficient interp." (HDML): lambda = 1, one scalar
# interpolation coefficient per pair (docs/algorithm.md §4).
_base_ = ['../gcahng/r50_npplus_cub.py']

model = dict(generator=dict(interpolation='single'))
