# GCA-HNG with a memory graph (docs/algorithm.md §10, beyond the paper):
# configs/gcahng/dino-s16_pa_cub.py (DN384, Proxy Anchor (PA),
# CUB-200-2011) whose graph head also sees the last K = 4B = 324
# embeddings of past batches and generates extra negatives from them.
# K = 4B is not a recommendation: it has been measured on the CPU benchmarks
# only (README, memory graph).
_base_ = ['../gcahng/dino-s16_pa_cub.py']

model = dict(memory=dict(size=324))
