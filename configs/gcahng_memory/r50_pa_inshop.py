# GCA-HNG with a memory graph (docs/algorithm.md §10, beyond the paper):
# configs/gcahng/r50_pa_inshop.py (R512, Proxy Anchor (PA), InShop) whose
# graph head also sees the last K = 4B = 320 embeddings of past batches and
# generates extra negatives from them. K = 4B is the middle of the ablation
# (configs/ablations/memory_k*) and the PA default of the CPU benchmark
# configs (never below GCA-HNG without memory there: README, memory graph);
# on this benchmark and GPU it is not measured yet.
_base_ = ['../gcahng/r50_pa_inshop.py']

model = dict(memory=dict(size=320))
