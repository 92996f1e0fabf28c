# Ablation on R512 / NP+ / CUB-200-2011 (configs/gcahng/r50_npplus_cub.py).
# Table 8, pooling: R512 with global average pooling only.
_base_ = ['../gcahng/r50_npplus_cub.py']

model = dict(neck=dict(pooling='avg'))
