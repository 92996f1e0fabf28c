# The XBM baseline (cross-batch memory, Wang et al., CVPR 2020;
# docs/algorithm.md §10) for the memory graph ablation, R512 / NP+ / CUB: the
# baseline configs/baselines/r50_npplus_cub.py whose metric loss also sees the
# last K = 4B = 324 embeddings (memory for mining only, no graph, no
# generation).
_base_ = ['../baselines/r50_npplus_cub.py']

model = dict(memory=dict(size=324, graph=False, mining=True))
