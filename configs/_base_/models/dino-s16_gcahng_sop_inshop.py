# GCA-HNG on DN384 as in the paper's SOP and InShop rows (docs/settings.md):
# ./dino-s16_gcahng.py with the graph head at T = 1, H = 2.
_base_ = ['./dino-s16_gcahng.py']

model = dict(graph_head=dict(num_layers=1, num_heads=2))
