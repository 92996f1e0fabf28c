# In-Shop Clothes Retrieval (docs/datasets.md): 3,997 train items (25,882
# images); evaluation is query (14,218) -> gallery (12,612) over 3,985 items:
# the 'test' split holds both, flagged by `is_query`. 40 x 2 batches,
# R@1/10/20/30/40/50.
_base_ = ['./dml_224_query_gallery.py']

num_train_classes = 3997
dataset_type = 'InShop'
data_root = 'data/inshop'
train_dataloader = dict(
    batch_size=80,
    sampler=dict(num_classes_per_batch=40, num_samples_per_class=2),
    dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = val_dataloader
val_evaluator = dict(topk=(1, 10, 20, 30, 40, 50), mode='query_gallery')
test_evaluator = val_evaluator
