# configs/gcahng/r18_pa_icons.py with the modified N-pair loss (NP+) as
# L_m (w_div = 60 as in the NP+ rows of the paper).
_base_ = ['./r18_pa_icons.py']

model = dict(
    loss_metric=dict(_delete_=True, type='NPairLoss', reg_weight=3e-3),
    loss_div=dict(loss_weight=0.6),
    # NP+ keeps the embedding's scale in check: the Euclidean form of
    # docs/algorithm.md
    hng_geometry='euclidean',
    loss_syn=dict(cosine_scale=None))
