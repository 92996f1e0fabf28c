# Ablation on R512 / NP+ / CUB-200-2011 (configs/gcahng/r50_npplus_cub.py).
# Fig. 7: T = 1 graph layers, H = 4 heads (T = 2, H = 4 is
# configs/gcahng/r50_npplus_cub.py).
_base_ = ['../gcahng/r50_npplus_cub.py']

model = dict(graph_head=dict(num_layers=1, num_heads=4))
