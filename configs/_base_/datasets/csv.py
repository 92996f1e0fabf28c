# Your own images, listed in a CSV (CSVRetrievalDataset, data/README.md):
# one row per image with `label`, `path` (relative to data_root) and `split`
# (train / validation), optionally `is_query`, `is_gallery`, `category`.
# tools/dataset_converters/folder_to_csv.py writes it for a folder of class
# folders and prints the --cfg-options below for its result. The benchmarks'
# 224-pixel pipelines and balanced batches (dml_224.py); `protocol` is how
# the validation rows are evaluated (dml_224_query_gallery.py passes
# `is_query` on to the metric): 'leave_one_out' (every image queries
# all others, as CUB/Cars196/SOP) or 'query_gallery' (the is_query rows
# against the is_gallery rows, as InShop); the dataset checks that the CSV
# follows it.
_base_ = ['./dml_224_query_gallery.py']

dataset_type = 'CSVRetrievalDataset'
data_root = 'data/my_images'
ann_file = 'data.csv'
num_train_classes = 100
protocol = 'leave_one_out'

train_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, ann_file=ann_file))
val_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file=ann_file,
        split='validation',
        protocol=protocol))
test_dataloader = val_dataloader
val_evaluator = dict(mode=protocol)
test_evaluator = val_evaluator
