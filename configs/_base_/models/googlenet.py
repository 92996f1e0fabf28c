# G512 metric model (docs/algorithm.md §2): torchvision's ImageNet GoogLeNet
# (with its `transform_input`) -> global average pool -> BN1d -> Linear(1024,
# 512). Leaf configs set `loss_metric` and `frozen_bn2d`.
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
)
