# dml_224.py for a test split that can be evaluated query -> gallery: the
# test pipeline passes each image's `is_query` flag on to the metric (InShop;
# CSV datasets, where the flag is present only with protocol='query_gallery').
_base_ = ['./dml_224.py']

test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=256, edge='short'),
    dict(type='CenterCrop', crop_size=224),
    dict(
        type='PackInputs',
        meta_keys=('sample_idx', 'img_path', 'ori_shape', 'img_shape',
                   'is_query')),
]
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
