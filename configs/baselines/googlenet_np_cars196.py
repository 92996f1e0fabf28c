# Baseline (no hard negative generation), G512 (GoogLeNet, avg pool, D=512),
# N-pair (NP, 40x2 batches), Cars196.
# docs/settings.md row "G512 Cars196".
# Twin of configs/gcahng/googlenet_np_cars196.py: same model, data, seed and
# metric-model schedule, without the graph head and CACAI.
# The NP+ row (./googlenet_npplus_cars196.py) on 40 x 2 batches: NP+ with
# M = 2 samples per class is the original N-pair loss.
_base_ = ['./googlenet_npplus_cars196.py']

train_dataloader = dict(
    batch_size=80,
    sampler=dict(num_classes_per_batch=40, num_samples_per_class=2))
