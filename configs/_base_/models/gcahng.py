# The GCA-HNG add-on to a metric model (docs/algorithm.md §3-§6): the GCL
# graph head, CACAI with channel-wise interpolation and random weighting,
# L_syn, L_cls, L_sim, L_div and the class defaults alpha = 5, beta = 20 of
# the hardness and balance factors. T = 2, H = 4, w_sim = 20 and w_div = 60
# are those of the R512 CUB-200-2011 row, the ablations' reference
# (docs/settings.md). `<backbone>_gcahng.py` merges it into that backbone's
# metric model with the graph head as wide as the neck; leaf configs set the
# number of training classes and whatever their row has otherwise.
#
# A variable of its own rather than `model`: mmengine refuses two bases of
# one config that both set `model`, so the add-on cannot sit beside a
# backbone's file and is merged by `<backbone>_gcahng.py` instead.
gcahng_addon = dict(
    type='GCAHNG',
    # i <= j half of the edges, mirrored (docs/algorithm.md §3 "Symmetry"):
    # about half the head's cost; in training the pair (i, j), (j, i) shares
    # one dropout mask. False computes all B^2 edges like the reference.
    graph_head=dict(
        type='GCLHead', num_layers=2, num_heads=4, symmetric_edges=True),
    generator=dict(
        type='CACAIGenerator',
        interpolation='channel',
        fusion='random_weighting'),
    loss_syn=dict(type='SyntheticPairLoss'),
    loss_cls=dict(type='SynthClassificationLoss', loss_weight=20.0),
    loss_sim=dict(type='SimilarityLoss', loss_weight=20.0),  # w_sim
    # 0.01 * w_div, w_div = 60
    loss_div=dict(type='DiversityLoss', loss_weight=0.6),
    hardness_alpha=5.0,
    balance_beta=20.0,
)
