# Baseline metric model for the built-in dataset: ResNet-18 -> avg+max pool ->
# BN1d -> Linear(512, 128), Proxy Anchor loss (./proxy_anchor.py) with the
# built-in dataset's 32 training classes (docs/algorithm.md §2, §5).
_base_ = ['./proxy_anchor.py']

embed_dim = 128
model = dict(
    type='DMLRetriever',
    backbone=dict(type='ResNet', depth=18, out_indices=(3, )),
    neck=dict(
        type='EmbeddingNeck',
        in_channels=512,
        out_channels=embed_dim,
        pooling='avgmax'),
    loss_metric=dict(
        _base_.pop('proxy_anchor'), num_classes=32, embed_dim=embed_dim),
)
