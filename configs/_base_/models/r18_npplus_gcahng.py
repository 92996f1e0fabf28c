# ./r18_pa_gcahng.py with the modified N-pair loss (NP+) as L_m: w_div = 60
# as in the NP+ rows of the paper, and, since NP+ keeps the embedding's scale
# in check, the Euclidean form of docs/algorithm.md with L_syn as the authors
# wrote it, and no memory graph (with NP+ it lost 1.7 R@1 to the baseline
# on the icons from scratch: README, memory graph).
_base_ = ['./r18_pa_gcahng.py']

model = dict(
    loss_metric=dict(_delete_=True, type='NPairLoss', reg_weight=3e-3),
    loss_div=dict(loss_weight=0.6),  # 0.01 * w_div, w_div = 60
    hng_geometry='euclidean',
    loss_syn=dict(_delete_=True, type='SyntheticPairLoss'),
    syn_grad='all',
    memory=None)
