# Baseline (no hard negative generation), G512 (GoogLeNet, avg pool, D=512),
# N-pair (NP, 40x2 batches), InShop.
# docs/settings.md row "G512 InShop".
# Twin of configs/gcahng/googlenet_np_inshop.py: same model, data, seed and
# metric-model schedule, without the graph head and CACAI.
# Equal to the NP+ row (./googlenet_npplus_inshop.py): its batches are
# already 40 x 2, on which NP+ is the original N-pair loss.
_base_ = ['./googlenet_npplus_inshop.py']
