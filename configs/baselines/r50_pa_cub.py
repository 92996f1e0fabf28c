# Baseline (no hard negative generation), R512 (ResNet-50, avg+max pool,
# D=512), Proxy Anchor (PA), CUB-200-2011.
# docs/settings.md row "R512 CUB-200-2011".
# Paper results: configs/baselines/metafile.yml.
# Twin of configs/gcahng/r50_pa_cub.py: same model, data, seed and
# metric-model schedule, without the graph head and CACAI.
# The NP+ baseline (./r50_npplus_cub.py) with Proxy Anchor as L_m.
_base_ = ['./r50_npplus_cub.py']

model = dict(
    loss_metric=dict(
        _delete_=True,
        type='ProxyAnchorLoss',
        num_classes={{_base_.num_train_classes}},
        embed_dim={{_base_.embed_dim}},
        margin=0.1,
        alpha=32.0))
