# GCA-HNG on DN384 as in the paper's CUB-200-2011 and Cars196 rows
# (docs/settings.md): ./dino-s16_gcahng.py with w_div = 20, alpha = 2 and
# beta = 5.
_base_ = ['./dino-s16_gcahng.py']

model = dict(
    loss_div=dict(loss_weight=0.2),  # 0.01 * w_div, w_div = 20
    hardness_alpha=2.0,
    balance_beta=5.0)
