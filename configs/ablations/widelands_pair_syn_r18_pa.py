# configs/gcahng/r18_pa_widelands.py with the former PA default: L_syn in the
# authors' N-pair form, 32 * cos(anchor, [positive | synthetic negatives]),
# with gradients into the anchors of the synthetic negatives
# (docs/algorithm.md §7).
_base_ = ['../gcahng/r18_pa_widelands.py']

model = dict(
    loss_syn=dict(_delete_=True, type='SyntheticPairLoss', cosine_scale=32.0),
    syn_grad='all',
    memory=None)  # as measured, before the memory default
