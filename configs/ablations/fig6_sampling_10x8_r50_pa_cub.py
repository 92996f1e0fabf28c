# Ablation, Fig. 6 batch sampling: N x M = 10 x 8 (N classes x M samples)
# instead of 27 x 3, on R512 / PA / CUB-200-2011
# (configs/gcahng/r50_pa_cub.py).
# Proxy Anchor, because NP+ needs M >= 2 and 80 x 1 has no positive pair.
_base_ = ['../gcahng/r50_pa_cub.py']

train_dataloader = dict(
    batch_size=80,
    sampler=dict(num_classes_per_batch=10, num_samples_per_class=8))
