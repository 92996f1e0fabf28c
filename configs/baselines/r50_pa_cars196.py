# Baseline (no hard negative generation), R512 (ResNet-50, avg+max pool,
# D=512), Proxy Anchor (PA), Cars196.
# docs/settings.md row "R512 Cars196".
# Paper results: configs/baselines/metafile.yml.
# Twin of configs/gcahng/r50_pa_cars196.py: same model, data, seed and
# metric-model schedule, without the graph head and CACAI.
# The NP+ baseline (./r50_npplus_cars196.py) with Proxy Anchor as L_m.
_base_ = ['./r50_npplus_cars196.py', '../_base_/models/proxy_anchor.py']

model = dict(
    loss_metric=dict(
        _base_.pop('proxy_anchor'),  # ../_base_/models/proxy_anchor.py
        _delete_=True,
        num_classes=_base_.num_train_classes,
        embed_dim=_base_.embed_dim))
