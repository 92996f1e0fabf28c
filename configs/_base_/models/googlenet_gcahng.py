# GCA-HNG on the G512 (GoogLeNet) metric model: ./googlenet.py plus the add-on
# of ./gcahng.py, the graph head as wide as the neck's embedding.
_base_ = ['./googlenet.py', './gcahng.py']

model = _base_.pop('gcahng_addon')
model.graph_head.embed_dim = _base_.embed_dim
