# GCA-HNG on the built-in dataset: the baseline metric model plus the
# GCA-HNG add-on (./gcahng.py, T=2, H=4, w_sim = 20) in its Proxy Anchor form
# (./gcahng_pa.py) (docs/algorithm.md §3-§7), with the memory graph
# (docs/algorithm.md §10) of K = 4B = 192 past embeddings (B = 16 x 3): with
# Proxy Anchor it was never below plain GCA-HNG or the baseline on either
# real benchmark, from scratch or pretrained (README, memory graph).
_base_ = ['./r18_pa_baseline.py', './gcahng.py', './gcahng_pa.py']

model = _base_.pop('gcahng_addon')
model.merge(_base_.pop('gcahng_pa'))
model.graph_head.update(embed_dim=_base_.embed_dim, num_classes=32)
model.memory = dict(size=192)
