# Proxy Anchor (PA) as L_m (docs/algorithm.md §2): margin 0.1, alpha 32; the
# configs add the number of classes (one proxy each) and the embedding width.
# A variable of its own rather than `model`, so that it can sit beside a base
# that sets `model`: a config takes it with `_base_.pop('proxy_anchor')`.
proxy_anchor = dict(type='ProxyAnchorLoss', margin=0.1, alpha=32.0)
