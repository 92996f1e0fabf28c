# GCA-HNG, R512 (ResNet-50, avg+max pool, D=512), Proxy Anchor (PA),
# CUB-200-2011.
# docs/settings.md row "R512 CUB-200-2011".
# Paper results: configs/gcahng/metafile.yml.
# The NP+ row (./r50_npplus_cub.py) with Proxy Anchor as L_m and
# w_div = 20 (lambda_2 = 0.01).
_base_ = ['./r50_npplus_cub.py', '../_base_/models/gcahng_pa.py']

model = _base_.pop('gcahng_pa')  # PA GCA-HNG (../_base_/models/gcahng_pa.py)
model.loss_metric.update(
    num_classes=_base_.num_train_classes, embed_dim=_base_.embed_dim)
