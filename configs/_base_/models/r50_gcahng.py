# GCA-HNG on the R512 (ResNet-50) metric model: ./r50.py plus the add-on of
# ./gcahng.py, the graph head as wide as the neck's embedding.
_base_ = ['./r50.py', './gcahng.py']

model = _base_.pop('gcahng_addon')
model.graph_head.embed_dim = _base_.embed_dim
