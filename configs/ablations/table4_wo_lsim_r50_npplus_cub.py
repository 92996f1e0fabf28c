# Ablation on R512 / NP+ / CUB-200-2011 (configs/gcahng/r50_npplus_cub.py).
# Table 4: L_gen without L_sim.
_base_ = ['../gcahng/r50_npplus_cub.py']

model = dict(loss_sim=None)
