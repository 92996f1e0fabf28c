# GCA-HNG on the built-in dataset: the baseline metric model plus the
# GCA-HNG add-on (./gcahng.py) in its Proxy Anchor form (./gcahng_pa.py)
# with the graph head at T=2, H=4 (docs/algorithm.md §3-§7).
_base_ = ['./r18_pa_baseline.py', './gcahng.py', './gcahng_pa.py']

model = _base_.pop('gcahng_addon')
model.merge(_base_.pop('gcahng_pa'))
model.merge(
    dict(
        graph_head=dict(
            embed_dim=_base_.embed_dim,
            num_classes=32,
            num_layers=2,
            num_heads=4),
        loss_sim=dict(loss_weight=20.0)))
