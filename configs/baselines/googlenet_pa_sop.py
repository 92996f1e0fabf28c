# Baseline (no hard negative generation), G512 (GoogLeNet, avg pool, D=512),
# Proxy Anchor (PA), Stanford Online Products.
# docs/settings.md row "G512 SOP".
# Twin of configs/gcahng/googlenet_pa_sop.py: same model, data, seed and
# metric-model schedule, without the graph head and CACAI.
# The NP+ baseline (./googlenet_npplus_sop.py) with Proxy Anchor as L_m.
_base_ = ['./googlenet_npplus_sop.py', '../_base_/models/proxy_anchor.py']

model = dict(
    loss_metric=dict(
        _base_.pop('proxy_anchor'),  # ../_base_/models/proxy_anchor.py
        _delete_=True,
        num_classes=_base_.num_train_classes,
        embed_dim=_base_.embed_dim))
