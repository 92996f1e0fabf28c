# Stanford Online Products (docs/datasets.md): 11,318 train classes (59,551
# images), 11,316 test classes (60,502); 40 x 2 batches, R@1/10/100/1000.
_base_ = ['./dml_224.py']

num_train_classes = 11318
dataset_type = 'SOP'
data_root = 'data/Stanford_Online_Products'
train_dataloader = dict(
    batch_size=80,
    sampler=dict(num_classes_per_batch=40, num_samples_per_class=2),
    dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = val_dataloader
val_evaluator = dict(topk=(1, 10, 100, 1000))
test_evaluator = val_evaluator
