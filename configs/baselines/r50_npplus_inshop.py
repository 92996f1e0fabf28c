# Baseline (no hard negative generation), R512 (ResNet-50, avg+max pool,
# D=512), modified N-pair (NP+), InShop.
# docs/settings.md row "R512 InShop".
# Paper results: configs/baselines/metafile.yml.
# Twin of configs/gcahng/r50_npplus_inshop.py: same model, data, seed and
# metric-model schedule, without the graph head and CACAI.
_base_ = [
    '../_base_/models/r50.py',
    '../_base_/datasets/inshop.py',
    '../_base_/schedules/baseline_adamw_200e.py',
    '../_base_/default_runtime.py',
]

model = dict(frozen_bn2d=False)
optim_wrapper = dict(optimizer=dict(lr=2e-4))
