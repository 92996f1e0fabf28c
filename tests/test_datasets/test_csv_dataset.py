"""CSVRetrievalDataset: columns, labels, both protocols, clear errors; the
folder-to-CSV converter; training and testing on a CSV from the command
line."""
import csv
import os
import os.path as osp
import shutil
import subprocess
import sys

import numpy as np
import pytest
from fixtures.retrieval_images import IMAGES, image_classes, make_csv_dataset
from helpers import REPO, TINY_224_RUN_OPTIONS, load_tool
from mmengine.config import Config

from gcahng.datasets import CSVRetrievalDataset
from gcahng.datasets.samplers import BalancedClassSampler
from gcahng.datasets.utils import DatasetLayoutError, MalformedAnnotationError
from gcahng.utils import UserError

folder_to_csv = load_tool('dataset_converters/folder_to_csv.py')
PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='CenterCrop', crop_size=32),
    dict(type='PackInputs', meta_keys=('img_path', 'is_query'))
]


def write_csv(path, header, rows):
    with open(path, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


def edit_csv(path, edit):
    with open(path, newline='') as f:
        rows = list(csv.reader(f))
    write_csv(path, rows[0], edit(rows[1:]))


@pytest.fixture
def loo_root(tmp_path):
    return make_csv_dataset(str(tmp_path / 'loo'))


@pytest.fixture
def qg_root(tmp_path):
    return make_csv_dataset(str(tmp_path / 'qg'), protocol='query_gallery')


def test_splits_labels_and_leave_one_out(loo_root):
    train = CSVRetrievalDataset(loo_root, 'data.csv', pipeline=PIPELINE)
    test = CSVRetrievalDataset(
        loo_root, 'data.csv', split='validation', pipeline=PIPELINE)
    assert len(train) == 16 and len(test) == 16
    assert not train.test_mode and test.test_mode
    assert test.protocol == 'leave_one_out' and train.protocol is None
    # labels 0..3 per split, original labels kept (numeric sort)
    assert sorted(set(train.get_gt_labels())) == [0, 1, 2, 3]
    assert sorted({test.get_data_info(i)['class_id']
                   for i in range(16)}) == [4, 5, 6, 7]
    assert 'is_query' not in test.get_data_info(0)
    assert test.get_data_info(0)['img_path'].startswith(loo_root)
    sample = test[0]
    assert tuple(sample['inputs'].shape) == (3, 32, 32)  # a real decoded JPEG
    # 'test' is the validation rows too (as the benchmark configs say)
    assert len(CSVRetrievalDataset(loo_root, split='test')) == 16
    # the balanced sampler draws N x M batches from it
    sampler = BalancedClassSampler(
        train, num_classes_per_batch=2, num_samples_per_class=2, seed=0)
    batch = [train.get_data_info(i)['gt_label'] for i in list(sampler)[:4]]
    assert len(set(batch)) == 2 and all(batch.count(b) == 2 for b in batch)


def test_query_gallery_protocol(qg_root):
    test = CSVRetrievalDataset(
        qg_root, split='validation', protocol='query_gallery')
    flags = [test.get_data_info(i)['is_query'] for i in range(len(test))]
    assert test.protocol == 'query_gallery'
    assert sum(flags) == 8 and len(flags) == 16
    # query and gallery share one label space
    labels = test.get_gt_labels()
    q = labels[np.array(flags)]
    g = labels[~np.array(flags)]
    assert set(q) == set(g) == {0, 1, 2, 3}
    packed = CSVRetrievalDataset(
        qg_root, split='validation', pipeline=PIPELINE)[0]
    assert packed['data_samples'].is_query is True


def test_text_labels_class_names_and_categories(tmp_path):
    root = str(tmp_path)
    shutil.copytree(IMAGES, osp.join(root, 'img'))
    rows = []
    for name in image_classes()[:4]:
        for file in sorted(os.listdir(osp.join(root, 'img', name))):
            split = 'train' if name < 'f' else 'validation'
            rows.append([name, f'img/{name}/{file}', split, 'icons', name])
    write_csv(
        osp.join(root, 'data.csv'),
        ['label', 'path', 'split', 'category', 'class_name'], rows)
    train = CSVRetrievalDataset(root)
    assert train.metainfo['classes'] == ('audio-x-generic', 'computer',
                                         'document-open', 'drive-harddisk')
    assert train.get_data_info(0)['category'] == 'icons'


def malformed(root, match, **kwargs):
    with pytest.raises(MalformedAnnotationError) as exc:
        CSVRetrievalDataset(root, **kwargs)
    msg = str(exc.value)
    assert osp.join(root, 'data.csv') in msg, msg
    assert 'folder_to_csv.py' in msg  # how to make one
    assert 'label,path,split' in msg  # the expected format
    for part in match:
        assert part in msg, msg
    return msg


def test_bad_rows_name_file_line_and_column(loo_root):
    path = osp.join(loo_root, 'data.csv')
    original = open(path).read()

    def reset():
        with open(path, 'w') as f:
            f.write(original)

    write_csv(path, ['label', 'file', 'split'], [['0', 'a.jpg', 'train']])
    malformed(loo_root, ["no column(s) ['path']", 'line 1'])
    reset()
    edit_csv(
        path, lambda rows: rows[:2] + [[r[0], r[1], 'val'] + r[3:]
                                       for r in rows[2:3]] + rows[3:])
    malformed(loo_root, ["column 'split'", "'val'", 'line 4'])
    reset()
    edit_csv(
        path, lambda rows: [['', *r[1:]] if i == 5 else r
                            for i, r in enumerate(rows)])
    malformed(loo_root, ["column 'label' is empty", 'line 7'])
    reset()
    edit_csv(
        path, lambda rows:
        [r[:3] + ['maybe', '1'] if i == 16 else r for i, r in enumerate(rows)])
    malformed(
        loo_root, ["column 'is_query'", "'maybe'", 'line 18'],
        split='validation')
    reset()
    # one-sided rows next to rows that are both
    edit_csv(
        path, lambda rows:
        [r[:3] + ['1', '0'] if i == 20 else r for i, r in enumerate(rows)])
    malformed(
        loo_root, ['line 18 is both', 'line 22 only one'], split='validation')
    reset()
    edit_csv(
        path, lambda rows:
        [r[:3] + ['0', '0'] if i == 17 else r for i, r in enumerate(rows)])
    malformed(
        loo_root, ['a query, a gallery image or both', 'line 19'],
        split='validation')
    reset()
    # train rows ignore the validation columns
    assert len(CSVRetrievalDataset(loo_root)) == 16


def test_missing_image_protocol_mismatch_and_missing_files(
        loo_root, qg_root, tmp_path):
    os.remove(osp.join(loo_root, 'images', 'folder', 'tango.jpg'))
    with pytest.raises(DatasetLayoutError) as exc:
        CSVRetrievalDataset(loo_root, split='validation')
    msg = str(exc.value)
    assert "column 'path'" in msg and 'folder/tango.jpg' in msg
    line = [
        i for i, row in enumerate(open(osp.join(loo_root, 'data.csv')), 1)
        if 'folder/tango.jpg' in row
    ][0]
    assert f'image of line {line},' in msg
    assert len(
        CSVRetrievalDataset(loo_root, split='validation',
                            check_files=False)) == 16

    with pytest.raises(DatasetLayoutError, match="'query_gallery'"):
        CSVRetrievalDataset(
            qg_root, split='validation', protocol='leave_one_out')
    with pytest.raises(DatasetLayoutError, match='CSV file not found'):
        CSVRetrievalDataset(qg_root, ann_file='other.csv')
    with pytest.raises(DatasetLayoutError, match='data_root folder not'):
        CSVRetrievalDataset(str(tmp_path / 'nowhere'))
    with pytest.raises(ValueError, match='protocol'):
        CSVRetrievalDataset(qg_root, protocol='all')
    with pytest.raises(DatasetLayoutError, match='has no images'):
        edit_csv(
            osp.join(qg_root, 'data.csv'),
            lambda rows: [r for r in rows if r[2] == 'train'])
        CSVRetrievalDataset(qg_root, split='validation')


# ----------------------------------------------------------------------
# tools/dataset_converters/folder_to_csv.py
@pytest.mark.parametrize('protocol', ['leave_one_out', 'query_gallery'])
def test_folder_to_csv(tmp_path, protocol):
    root = str(tmp_path / 'tree')
    shutil.copytree(IMAGES, root)
    os.makedirs(osp.join(root, 'lonely'))  # one image: left out
    shutil.copy(
        osp.join(IMAGES, 'printer', 'tango.jpg'), osp.join(root, 'lonely'))
    shutil.copy(osp.join(IMAGES, 'printer', 'tango.jpg'), root)  # no class
    out = str(tmp_path / 'data.csv')
    summary = folder_to_csv.main(
        [root, '--out', out, '--protocol', protocol, '--seed', '3'])
    assert summary['train'] == dict(images=16, classes=4)
    assert summary['validation'] == dict(images=16, classes=4)
    again = str(tmp_path / 'again.csv')
    folder_to_csv.main(
        [root, '--out', again, '--protocol', protocol, '--seed', '3'])
    assert open(out).read() == open(again).read()  # deterministic
    train = CSVRetrievalDataset(root, out)
    test = CSVRetrievalDataset(
        root, out, split='validation', protocol=protocol)
    train_names = {
        train.get_data_info(i)['img_path'].split(os.sep)[-2]
        for i in range(len(train))
    }
    test_names = {
        test.get_data_info(i)['img_path'].split(os.sep)[-2]
        for i in range(len(test))
    }
    assert not train_names & test_names  # class-disjoint
    assert train_names | test_names == set(image_classes())
    assert set(test.metainfo['classes']) == test_names  # class_name column
    if protocol == 'query_gallery':
        flags = [test.get_data_info(i)['is_query'] for i in range(16)]
        assert sum(flags) == 8
    with pytest.raises(UserError, match='two classes'):
        folder_to_csv.main([osp.join(root, 'printer'), '--out', out])
    with pytest.raises(UserError, match='does not train on a CSV'):
        folder_to_csv.main(
            [root, '--out', out, '--base', 'configs/gcahng/r18_pa_icons.py'])


def test_train_on_the_converted_csv(tmp_path):
    """tools/train.py on the config that folder_to_csv.py writes next to
    the CSV (configs/gcahng/r50_pa_csv.py pointed at it) trains and
    evaluates query -> gallery (tools/test.py on CSVs: tests/test_apis)."""
    root = str(tmp_path / 'tree')
    shutil.copytree(IMAGES, root)
    summary = folder_to_csv.main([
        root, '--out',
        str(tmp_path / 'data.csv'), '--protocol', 'query_gallery',
        '--test-ratio', '0.625'
    ])
    assert summary['train']['classes'] == 3
    config = summary['config']
    assert config == str(tmp_path / 'data_r50_pa_csv.py')
    cfg = Config.fromfile(config)
    assert cfg.model.graph_head.num_classes == 3
    assert cfg.model.loss_metric.num_classes == 3
    assert cfg.test_evaluator.mode == 'query_gallery'
    work = tmp_path / 'work'
    proc = subprocess.run(
        [
            sys.executable,
            osp.join(REPO, 'tools/train.py'), config, '--work-dir',
            str(work), '--cfg-options'
        ] + TINY_224_RUN_OPTIONS,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    assert 'Epoch(train) [1]' in log and 'retrieval/R@1' in log
    # query -> gallery: 10 queries of 5 validation classes
    assert 'retrieval/num_queries: 10' in log
