# GCA-HNG with a memory graph (docs/algorithm.md §10, beyond the paper):
# configs/gcahng/dino-s16_pa_cub.py (DN384, Proxy Anchor (PA),
# CUB-200-2011) whose graph head also sees the last K = 4B = 324
# embeddings of past batches and generates extra negatives from them.
# K = 4B is the PA default of the CPU benchmark configs (never below GCA-HNG
# without memory there: README, memory graph); on this benchmark and GPU it
# is not measured yet.
_base_ = ['../gcahng/dino-s16_pa_cub.py']

model = dict(memory=dict(size=324))
