# Ablation on R512 / NP+ / CUB-200-2011 (configs/gcahng/r50_npplus_cub.py).
# Table 3, "w/o global correlations": no node step in the graph head
# (edges only, docs/algorithm.md §3).
_base_ = ['../gcahng/r50_npplus_cub.py']

model = dict(graph_head=dict(node_step=False))
