# Memory graph ablation (docs/algorithm.md §10), R512 / Proxy Anchor (PA) /
# CUB: GCA-HNG (configs/gcahng/r50_pa_cub.py) with the memory in L_m only (XBM
# mining, K = 4B = 324) and the graph and generation in-batch as in the paper:
# graph memory vs memory for mining only.
_base_ = ['../gcahng/r50_pa_cub.py']

model = dict(memory=dict(size=324, graph=False, mining=True))
