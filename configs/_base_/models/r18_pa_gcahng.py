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
        # 8 * z / |z|, and the synthetic negatives enter L_syn as negatives
        # of their anchor's class proxy, moving the proxies and the real
        # negatives they were made from, never their anchors
        # (docs/algorithm.md §7, "GCA-HNG with a proxy loss").
        hng_geometry='cosine',
        hng_scale=8.0,
        loss_syn=dict(_delete_=True, type='ProxySyntheticLoss'),
        syn_grad='candidates',
        loss_sim=dict(loss_weight=20.0),
        loss_div=dict(loss_weight=0.2),  # w_div = 20 (PA)
    ))
