# Ablation on R512 / NP+ / CUB-200-2011 (configs/gcahng/r50_npplus_cub.py).
# Table 3, "w/o Hadamard product add.": the node step without the
# edge-to-node term (docs/algorithm.md §3).
_base_ = ['../gcahng/r50_npplus_cub.py']

model = dict(graph_head=dict(edge_to_node=False))
