# configs/gcahng/r18_pa_icons.py with the literal combination of GCA-HNG and
# Proxy Anchor: the graph head, CACAI, h1 and L_syn (the authors' N-pair
# form: dot products with an L2 penalty, gradients into S's anchors) on the
# un-normalised embedding (docs/algorithm.md §7).
_base_ = ['../gcahng/r18_pa_icons.py']

model = dict(
    hng_geometry='euclidean',
    loss_syn=dict(_delete_=True, type='SyntheticPairLoss'),
    syn_grad='all',
    memory=None)  # as measured, before the memory default
