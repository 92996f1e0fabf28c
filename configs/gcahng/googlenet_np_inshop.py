# GCA-HNG, G512 (GoogLeNet, avg pool, D=512), N-pair (NP, 40x2 batches),
# InShop.
# docs/settings.md row "G512 InShop".
# Paper results: configs/gcahng/metafile.yml.
# Equal to the NP+ row (./googlenet_npplus_inshop.py): its batches are
# already 40 x 2, on which NP+ is the original N-pair loss.
_base_ = ['./googlenet_npplus_inshop.py']
