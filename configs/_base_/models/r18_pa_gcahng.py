# GCA-HNG on the built-in dataset: the baseline metric model plus the
# GCA-HNG add-on (./gcahng.py) with the graph head at T=2, H=4
# (docs/algorithm.md §3-§6).
_base_ = ['./r18_pa_baseline.py', './gcahng.py']

model = _base_.pop('gcahng_addon')
model.merge(
    dict(
        graph_head=dict(
            embed_dim=_base_.embed_dim,
            num_classes=32,
            num_layers=2,
            num_heads=4),
        # Proxy Anchor is a cosine loss: the hard-negative machinery works on
        # 8 * z / |z| and L_syn on 32 * cos (docs/algorithm.md, "GCA-HNG with
        # a proxy loss"); the literal form of docs/algorithm.md is
        # hng_geometry='euclidean'.
        hng_geometry='cosine',
        hng_scale=8.0,
        loss_syn=dict(cosine_scale=32.0),
        loss_sim=dict(loss_weight=20.0),
        loss_div=dict(loss_weight=0.2),  # w_div = 20 (PA)
    ))
