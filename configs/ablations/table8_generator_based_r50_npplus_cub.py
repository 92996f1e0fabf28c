# Ablation on R512 / NP+ / CUB-200-2011 (configs/gcahng/r50_npplus_cub.py).
# Table 8, "generator-based": single-coefficient interpolation followed by an
# HDML-style generator network trained with a reconstruction loss; its output
# is the negative (docs/algorithm.md §4). The generator joins the graph head's
# optimiser.
_base_ = ['../gcahng/r50_npplus_cub.py']

model = dict(
    generator=dict(
        _delete_=True,
        type='HDMLGenerator',
        embed_dim={{_base_.embed_dim}},
        loss_recon_weight=1.0))
optim_wrapper = dict(graph=dict(modules=('graph_head', 'generator')))
