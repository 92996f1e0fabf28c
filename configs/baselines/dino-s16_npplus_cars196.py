# Baseline (no hard negative generation), DN384 (DINO ViT-S/16, CLS token,
# D=384), modified N-pair (NP+), Cars196.
# docs/settings.md row "DN384 Cars196".
# Twin of configs/gcahng/dino-s16_npplus_cars196.py: same model, data, seed and
# metric-model schedule, without the graph head and CACAI.
_base_ = [
    '../_base_/models/dino-s16.py',
    '../_base_/datasets/cars196.py',
    '../_base_/schedules/baseline_adamw_100e.py',
    '../_base_/default_runtime.py',
]

optim_wrapper = dict(optimizer=dict(lr=3e-5))
