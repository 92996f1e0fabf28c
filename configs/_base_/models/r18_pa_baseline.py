# Baseline metric model for the built-in dataset: ResNet-18 -> avg+max pool ->
# BN1d -> Linear(512, 128), Proxy Anchor loss (docs/algorithm.md §2, §5).
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
        type='ProxyAnchorLoss',
        num_classes=32,
        embed_dim=embed_dim,
        margin=0.1,
        alpha=32.0),
)
