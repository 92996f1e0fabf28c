# GCA-HNG on R512 as in the paper's SOP and InShop rows (docs/settings.md):
# ./r50_gcahng.py with the backbone's BatchNorm2d trained and the graph head
# at T = 1, H = 2.
_base_ = ['./r50_gcahng.py']

model = dict(frozen_bn2d=False, graph_head=dict(num_layers=1, num_heads=2))
