# GCA-HNG, G512 (GoogLeNet, avg pool, D=512), N-pair (NP, 40x2 batches),
# CUB-200-2011.
# docs/settings.md row "G512 CUB-200-2011".
# Paper results: configs/gcahng/metafile.yml.
# The NP+ row (./googlenet_npplus_cub.py) on 40 x 2 batches: NP+ with
# M = 2 samples per class is the original N-pair loss.
_base_ = ['./googlenet_npplus_cub.py']

train_dataloader = dict(
    batch_size=80,
    sampler=dict(num_classes_per_batch=40, num_samples_per_class=2))
