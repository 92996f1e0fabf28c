# DN384 metric model (docs/algorithm.md §2): DINO ViT-S/16 -> CLS token of the
# last layer -> BN1d -> Linear(384, 384) with orthogonal weight and zero bias.
# L_m is NP+ unless a leaf replaces it.
embed_dim = 384
model = dict(
    type='DMLRetriever',
    backbone=dict(
        type='DINOVisionTransformer',
        arch='deit-small',
        patch_size=16,
        img_size=224,
        pretrained='https://dl.fbaipublicfiles.com/dino/'
        'dino_deitsmall16_pretrain/dino_deitsmall16_pretrain.pth'),
    neck=dict(
        type='EmbeddingNeck',
        in_channels=384,
        out_channels=embed_dim,
        pooling='none',
        orthogonal_init=True),
    # modified N-pair (NP+), the paper's L_m; Proxy Anchor leaves replace it
    loss_metric=dict(type='NPairLoss', reg_weight=3e-3),
)
