# GCA-HNG on the DN384 (DINO ViT-S/16) metric model: ./dino-s16.py plus the
# add-on of ./gcahng.py, the graph head as wide as the neck's embedding.
_base_ = ['./dino-s16.py', './gcahng.py']

model = _base_.pop('gcahng_addon')
model.graph_head.embed_dim = _base_.embed_dim
