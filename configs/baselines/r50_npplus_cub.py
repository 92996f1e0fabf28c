# Baseline (no hard negative generation), R512 (ResNet-50, avg+max pool,
# D=512), modified N-pair (NP+), CUB-200-2011.
# docs/settings.md row "R512 CUB-200-2011".
# Paper results: configs/baselines/metafile.yml.
# Twin of configs/gcahng/r50_npplus_cub.py: same model, data, seed and
# metric-model schedule, without the graph head and CACAI.
_base_ = [
    '../_base_/models/r50.py',
    '../_base_/datasets/cub.py',
    '../_base_/schedules/baseline_adamw_100e.py',
    '../_base_/default_runtime.py',
]

model = dict(frozen_bn2d=True)
