# G512 metric model (docs/algorithm.md §2): torchvision's ImageNet GoogLeNet
# (with its `transform_input`) -> global average pool -> BN1d -> Linear(1024,
# 512). Leaf configs set `frozen_bn2d`; L_m is NP+ unless they replace it.
embed_dim = 512
model = dict(
    type='DMLRetriever',
    backbone=dict(
        type='GoogLeNet',
        transform_input=True,
        pretrained='torchvision://googlenet'),
    neck=dict(
        type='EmbeddingNeck',
        in_channels=1024,
        out_channels=embed_dim,
        pooling='avg'),
    # modified N-pair (NP+), the paper's L_m; Proxy Anchor leaves replace it
    loss_metric=dict(type='NPairLoss', reg_weight=3e-3),
)
