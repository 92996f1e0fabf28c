# GCA-HNG on the built-in dataset: the baseline metric model plus the GCL graph
# head (T=2, H=4), CACAI and the stage-1/stage-2 losses (SPEC §3-§6).
_base_ = ['./r18_pa_baseline.py']

model = dict(
    type='GCAHNG',
    graph_head=dict(
        type='GCLHead',
        embed_dim={{_base_.embed_dim}},
        num_classes=32,
        num_layers=2,
        num_heads=4,
        symmetric_edges=True),  # i <= j half, mirrored (SPEC §3)
    generator=dict(
        type='CACAIGenerator',
        interpolation='channel',
        fusion='random_weighting'),
    # Proxy Anchor is a cosine loss: the hard-negative machinery works on
    # 8 * z / |z| and L_syn on 32 * cos (docs/algorithm.md, "GCA-HNG with a
    # proxy loss"); the literal SPEC form is hng_geometry='euclidean'.
    hng_geometry='cosine',
    hng_scale=8.0,
    loss_syn=dict(type='SyntheticPairLoss', cosine_scale=32.0),
    loss_cls=dict(type='SynthClassificationLoss', loss_weight=20.0),
    loss_sim=dict(type='SimilarityLoss', loss_weight=20.0),
    loss_div=dict(type='DiversityLoss', loss_weight=0.2),  # w_div = 20 (PA)
    hardness_alpha=5.0,
    balance_beta=20.0,
)
