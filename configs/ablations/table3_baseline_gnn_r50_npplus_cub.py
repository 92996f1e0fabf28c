# Ablation on R512 / NP+ / CUB-200-2011 (configs/gcahng/r50_npplus_cub.py).
# Table 3, "Baseline + GNN": the graph head trained by L_gce only, no
# hard negative generation (no CACAI, no h1, no generation stage).
_base_ = ['../gcahng/r50_npplus_cub.py']

model = dict(generate=False)
# no h1, hence no `cls` optimiser
optim_wrapper = dict(cls=None)
