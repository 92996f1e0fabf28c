# GCA-HNG with a memory graph (docs/algorithm.md §10, beyond the paper):
# configs/gcahng/r50_npplus_cars196.py (R512, NP+, Cars196) whose
# graph head also sees the last K = 4B = 324 embeddings of past batches and
# generates extra negatives from them. K = 4B is the middle of the ablation
# (configs/ablations/memory_k*), not a recommendation: with NP+ it lost to
# the baseline on the icons from scratch (README, memory graph).
_base_ = ['../gcahng/r50_npplus_cars196.py']

model = dict(memory=dict(size=324))
