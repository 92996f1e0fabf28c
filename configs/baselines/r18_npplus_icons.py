# Baseline twin of configs/gcahng/r18_npplus_icons.py.
_base_ = ['./r18_pa_icons.py']

model = dict(
    loss_metric=dict(_delete_=True, type='NPairLoss', reg_weight=3e-3))
