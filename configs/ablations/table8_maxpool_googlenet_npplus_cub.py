# Ablation, Table 8 pooling: G512 with global max pooling instead of average
# pooling (configs/gcahng/googlenet_npplus_cub.py).
_base_ = ['../gcahng/googlenet_npplus_cub.py']

model = dict(neck=dict(pooling='max'))
