# Baseline (no hard negative generation), DN384 (DINO ViT-S/16, CLS token,
# D=384), Proxy Anchor (PA), Stanford Online Products.
# docs/settings.md row "DN384 SOP".
# Twin of configs/gcahng/dino-s16_pa_sop.py: same model, data, seed and
# metric-model schedule, without the graph head and CACAI.
# The NP+ baseline (./dino-s16_npplus_sop.py) with Proxy Anchor as L_m.
_base_ = ['./dino-s16_npplus_sop.py', '../_base_/models/proxy_anchor.py']

model = dict(
    loss_metric=dict(
        _base_.pop('proxy_anchor'),  # ../_base_/models/proxy_anchor.py
        _delete_=True,
        num_classes=_base_.num_train_classes,
        embed_dim=_base_.embed_dim))
