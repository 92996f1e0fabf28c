# The GCA-HNG add-on to a metric model (docs/algorithm.md §3-§6): the GCL
# graph head, CACAI with channel-wise interpolation and random weighting,
# L_syn, L_cls, L_sim, L_div and the class defaults alpha = 5, beta = 20 of
# the hardness and balance factors. `<backbone>_gcahng.py` merges it into
# that backbone's metric model with the graph head as wide as the neck;
# leaf configs set T, H, w_sim, w_div, any other alpha / beta
# (docs/settings.md) and the number of training classes.
#
# A variable of its own rather than `model`: mmengine refuses two bases of
# one config that both set `model`, so the add-on cannot sit beside a
# backbone's file and is merged by `<backbone>_gcahng.py` instead.
gcahng_addon = dict(
    type='GCAHNG',
    # i <= j half of the edges, mirrored (docs/algorithm.md §3 "Symmetry"):
    # about half the head's cost; in training the pair (i, j), (j, i) shares
    # one dropout mask. False computes all B^2 edges like the reference.
    graph_head=dict(type='GCLHead', symmetric_edges=True),
    generator=dict(
        type='CACAIGenerator',
        interpolation='channel',
        fusion='random_weighting'),
    loss_syn=dict(type='SyntheticPairLoss'),
    loss_cls=dict(type='SynthClassificationLoss', loss_weight=20.0),
    loss_sim=dict(type='SimilarityLoss'),
    loss_div=dict(type='DiversityLoss'),
    hardness_alpha=5.0,
    balance_beta=20.0,
)
