# GCA-HNG on G512 as in the paper's SOP and InShop rows (docs/settings.md):
# ./googlenet_gcahng.py with the backbone's BatchNorm2d trained, the graph
# head at T = 1, H = 2 and w_div = 20.
_base_ = ['./googlenet_gcahng.py']

model = dict(
    frozen_bn2d=False,
    graph_head=dict(num_layers=1, num_heads=2),
    loss_div=dict(loss_weight=0.2))  # 0.01 * w_div, w_div = 20
