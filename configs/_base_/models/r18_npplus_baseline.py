# ./r18_pa_baseline.py with the modified N-pair loss (NP+) as L_m: the
# baseline metric model of the NP+ rows on the CPU benchmarks.
_base_ = ['./r18_pa_baseline.py']

model = dict(
    loss_metric=dict(_delete_=True, type='NPairLoss', reg_weight=3e-3))
