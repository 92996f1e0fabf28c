# GCA-HNG on the built-in dataset: the baseline metric model plus the
# GCA-HNG add-on (./gcahng.py, T=2, H=4, w_sim = 20) in its Proxy Anchor form
# (./gcahng_pa.py) (docs/algorithm.md §3-§7).
_base_ = ['./r18_pa_baseline.py', './gcahng.py', './gcahng_pa.py']

model = _base_.pop('gcahng_addon')
model.merge(_base_.pop('gcahng_pa'))
model.graph_head.update(embed_dim=_base_.embed_dim, num_classes=32)
