# GCA-HNG, DN384 (DINO ViT-S/16, CLS token, D=384), Proxy Anchor (PA),
# CUB-200-2011.
# docs/settings.md row "DN384 CUB-200-2011".
# Paper results: configs/gcahng/metafile.yml.
# The NP+ row (./dino-s16_npplus_cub.py) with Proxy Anchor as L_m and
# w_div = 20 (lambda_2 = 0.01).
_base_ = ['./dino-s16_npplus_cub.py', '../_base_/models/gcahng_pa.py']

model = _base_.pop('gcahng_pa')  # PA GCA-HNG (../_base_/models/gcahng_pa.py)
model.loss_metric.update(
    num_classes=_base_.num_train_classes, embed_dim=_base_.embed_dim)
