# GCA-HNG, G512 (GoogLeNet, avg pool, D=512), Proxy Anchor (PA), InShop.
# docs/settings.md row "G512 InShop".
# Paper results: configs/gcahng/metafile.yml.
# The NP+ row (./googlenet_npplus_inshop.py) with Proxy Anchor as L_m and
# w_div = 20 (lambda_2 = 0.01).
_base_ = ['./googlenet_npplus_inshop.py', '../_base_/models/gcahng_pa.py']

model = _base_.pop('gcahng_pa')  # PA GCA-HNG (../_base_/models/gcahng_pa.py)
model.loss_metric.update(
    num_classes=_base_.num_train_classes, embed_dim=_base_.embed_dim)
