# GCA-HNG on the G512 (GoogLeNet) metric model (SPEC §3-§6): GCL graph head,
# CACAI with channel-wise interpolation and random weighting, L_syn, L_cls,
# L_sim, L_div. Leaf configs set T, H, alpha, beta, w_sim, w_div (SPEC §7) and
# the number of training classes.
_base_ = ['./googlenet.py']

model = dict(
    type='GCAHNG',
    # i <= j half of the edges, mirrored (SPEC §3 "Symmetry"): about half
    # the head's cost; in training the pair (i, j), (j, i) shares one
    # dropout mask. False computes all B^2 edges like the reference.
    graph_head=dict(
        type='GCLHead', embed_dim={{_base_.embed_dim}}, symmetric_edges=True),
    generator=dict(
        type='CACAIGenerator',
        interpolation='channel',
        fusion='random_weighting'),
    loss_syn=dict(type='SyntheticPairLoss'),
    loss_cls=dict(type='SynthClassificationLoss', loss_weight=20.0),
    loss_sim=dict(type='SimilarityLoss'),
    loss_div=dict(type='DiversityLoss'),
)
