# GCA-HNG on the built-in dataset (what `make demo` trains): ResNet-18,
# 128-d embedding, Proxy Anchor, 16x3 batches, 8 epochs on CPU.
_base_ = [
    '../_base_/models/r18_pa_gcahng.py',
    '../_base_/datasets/synthetic.py',
    '../_base_/schedules/gcahng_adamw_8e.py',
    '../_base_/cpu_runtime.py',
]
