# Baseline (no hard negative generation), DN384 (DINO ViT-S/16, CLS token,
# D=384), modified N-pair (NP+), Stanford Online Products.
# docs/settings.md row "DN384 SOP".
# Twin of configs/gcahng/dino-s16_npplus_sop.py: same model, data, seed and
# metric-model schedule, without the graph head and CACAI.
_base_ = [
    '../_base_/models/dino-s16.py',
    '../_base_/datasets/sop.py',
    '../_base_/schedules/baseline_adamw_200e.py',
    '../_base_/default_runtime.py',
]

optim_wrapper = dict(optimizer=dict(lr=1.5e-5))
