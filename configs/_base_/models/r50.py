# R512 metric model (docs/algorithm.md §2): ImageNet ResNet-50 -> global
# average + global max pool (summed) -> BN1d -> Linear(2048, 512). Leaf configs
# set `frozen_bn2d` (True for CUB/Cars196); L_m is NP+ unless they replace it.
embed_dim = 512
model = dict(
    type='DMLRetriever',
    backbone=dict(
        type='TorchvisionResNet',
        depth=50,
        out_indices=(3, ),
        pretrained='torchvision://resnet50'),
    neck=dict(
        type='EmbeddingNeck',
        in_channels=2048,
        out_channels=embed_dim,
        pooling='avgmax'),
    # modified N-pair (NP+), the paper's L_m; Proxy Anchor leaves replace it
    loss_metric=dict(type='NPairLoss', reg_weight=3e-3),
)
