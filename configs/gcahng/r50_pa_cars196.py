# GCA-HNG, R512 (ResNet-50, avg+max pool, D=512), Proxy Anchor (PA), Cars196.
# docs/settings.md row "R512 Cars196".
# Paper results: configs/gcahng/metafile.yml.
# The NP+ row (./r50_npplus_cars196.py) with Proxy Anchor as L_m and
# w_div = 20 (lambda_2 = 0.01).
_base_ = ['./r50_npplus_cars196.py']

model = dict(
    loss_metric=dict(
        _delete_=True,
        type='ProxyAnchorLoss',
        num_classes={{_base_.num_train_classes}},
        embed_dim={{_base_.embed_dim}},
        margin=0.1,
        alpha=32.0),
    loss_div=dict(loss_weight=0.2),  # 0.01 * w_div, w_div = 20
    # PA is a cosine loss: HNG on 8 * z / |z|; the synthetic negatives enter
    # L_syn as negatives of their anchor's class proxy, with gradients into
    # the real negatives they were made from, never into their anchors (not
    # in the authors' code, which has no PA; docs/algorithm.md §7)
    hng_geometry='cosine',
    hng_scale=8.0,
    loss_syn=dict(_delete_=True, type='ProxySyntheticLoss'),
    syn_grad='candidates')
