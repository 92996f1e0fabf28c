# GCA-HNG on G512 as in the paper's CUB-200-2011 and Cars196 rows
# (docs/settings.md): ./googlenet_gcahng.py with the backbone's BatchNorm2d
# frozen, w_sim = 10, w_div = 10, alpha = 4 and beta = 30.
_base_ = ['./googlenet_gcahng.py']

model = dict(
    frozen_bn2d=True,
    loss_sim=dict(loss_weight=10.0),  # w_sim
    loss_div=dict(loss_weight=0.1),  # 0.01 * w_div, w_div = 10
    hardness_alpha=4.0,
    balance_beta=30.0)
