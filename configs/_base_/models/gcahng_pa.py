# Proxy Anchor (PA) GCA-HNG: what a PA GCA-HNG config changes in the NP+ form
# of the same setting (docs/settings.md, docs/algorithm.md §7). Proxy Anchor
# as L_m (./proxy_anchor.py), w_div = 20 (lambda_2 = 0.01), and the PA
# default of the hard-negative machinery: PA is a cosine loss, so HNG works on
# 8 * z / |z|; the synthetic negatives enter L_syn as negatives of their
# anchor's class proxy, with gradients into the real negatives they were made
# from, never into their anchors (not in the authors' code, which has no PA).
#
# A variable of its own rather than `model` (mmengine refuses two bases that
# both set `model`): a leaf lists this file after its NP+ sibling and takes
#     model = _base_.pop('gcahng_pa')
#     model.loss_metric.update(
#         num_classes=_base_.num_train_classes, embed_dim=_base_.embed_dim)
# `r18_pa_gcahng.py` merges it into the built-in dataset's model.
_base_ = ['./proxy_anchor.py']

gcahng_pa = dict(
    loss_metric=dict(_base_.pop('proxy_anchor'), _delete_=True),
    loss_div=dict(loss_weight=0.2),  # 0.01 * w_div, w_div = 20
    hng_geometry='cosine',
    hng_scale=8.0,
    loss_syn=dict(_delete_=True, type='ProxySyntheticLoss'),
    syn_grad='candidates')
