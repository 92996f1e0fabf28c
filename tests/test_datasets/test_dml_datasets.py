"""The DML benchmark readers on miniatures of the original layouts (§9)."""
import os
import os.path as osp
import pickle
import shutil

import numpy as np
import pytest
from fixtures.dml_layouts import (APPLEDOUBLE, CARS_CLASS_IDS, CUB_CLASS_IDS,
                                  SOP_TEST_CLASS_IDS, SOP_TRAIN_CLASS_IDS,
                                  inshop_item, make_cars196, make_cub,
                                  make_inshop, make_sop)
from mmengine.registry import init_default_scope

from gcahng.datasets.cars196 import Cars196
from gcahng.datasets.cub import CUB
from gcahng.datasets.inshop import InShop
from gcahng.datasets.sop import SOP
from gcahng.datasets.utils import (DatasetLayoutError,
                                   MalformedAnnotationError,
                                   find_missing_files, is_macos_junk)
from gcahng.registry import DATASETS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
META_KEYS = ('sample_idx', 'img_path', 'ori_shape', 'img_shape',
             'scale_factor', 'flip', 'flip_direction', 'is_query')


def class_ids(ds) -> list:
    return [ds.get_data_info(i)['class_id'] for i in range(len(ds))]


def assert_clear(excinfo, cls, *names, error=DatasetLayoutError) -> str:
    """One clear error: right type, names the file(s), layout and source."""
    err = excinfo.value
    assert isinstance(err, error)
    msg = str(err)
    for name in names:
        assert name in msg, (name, msg)
    assert cls.SOURCE.split()[0] in msg, msg
    assert cls.LAYOUT.splitlines()[1].strip() in msg, msg
    # no chained traceback from deep inside a loader
    assert err.__cause__ is None
    assert err.__context__ is None or err.__suppress_context__
    return msg


def assert_malformed(cls, root: str, *names):
    """``cls(root)`` stops with one clear MalformedAnnotationError naming
    ``names``."""
    with pytest.raises(MalformedAnnotationError) as excinfo:
        cls(root)
    assert_clear(excinfo, cls, *names, error=MalformedAnnotationError)
    return excinfo


def rewrite(path: str, edit) -> None:
    with open(path) as f:
        lines = f.read().splitlines()
    with open(path, 'w') as f:
        f.write('\n'.join(edit(lines)) + '\n')


# ----------------------------------------------------------------------------
# counts, splits, labels
def test_cub_splits_by_class_id(cub_root):
    train = CUB(cub_root, split='train')
    test = CUB(cub_root, split='test')
    assert len(train) == 9 and len(test) == 9
    assert sorted(set(class_ids(train))) == [1, 2, 100]
    assert sorted(set(class_ids(test))) == [101, 150, 200]
    assert train.get_gt_labels().tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    labels = test.get_gt_labels()
    assert labels.dtype == np.int64
    assert labels.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert test.get_cat_ids(3) == [1]
    assert test.metainfo['classes'] == ('101.Bird_101', '150.Bird_150',
                                        '200.Bird_200')
    assert test.metainfo['class_ids'] == (101, 150, 200)
    for ds in (train, test):
        info = ds.get_data_info(0)
        assert osp.isabs(info['img_path']) and osp.isfile(info['img_path'])
        assert osp.dirname(osp.dirname(info['img_path'])) == osp.join(
            cub_root, 'images')
    assert train.test_mode is False and test.test_mode is True


def test_cub_uneven_classes_and_parent_root(tmp_path):
    counts = {1: 1, 2: 4, 100: 2, 101: 3, 150: 1, 200: 5}
    data_root = make_cub(str(tmp_path), images_per_class=counts)
    assert osp.basename(data_root) == 'CUB_200_2011'
    for root in (data_root, str(tmp_path)):  # the folder or its parent
        train = CUB(root, split='train')
        test = CUB(root, split='test')
        assert len(train) == 7 and len(test) == 9
        assert np.bincount(train.get_gt_labels()).tolist() == [1, 4, 2]
        assert np.bincount(test.get_gt_labels()).tolist() == [3, 1, 5]
        assert train.data_root == data_root


@pytest.mark.parametrize('withlabels_in', ['root', 'devkit'])
@pytest.mark.parametrize('kaggle', [False, True])
def test_cars_devkit_variants(tmp_path, withlabels_in, kaggle):
    counts = {1: 2, 2: 3, 98: 1, 99: 4, 150: 2, 196: 3}
    data_root = make_cars196(
        str(tmp_path),
        layout='devkit',
        images_per_class=counts,
        withlabels_in=withlabels_in,
        kaggle_nesting=kaggle)
    train = Cars196(data_root, split='train')
    test = Cars196(data_root, split='test')
    # both official halves are pooled, then split by class id
    assert len(train) == 6 and len(test) == 9
    assert np.bincount(train.get_gt_labels()).tolist() == [2, 3, 1]
    assert np.bincount(test.get_gt_labels()).tolist() == [4, 2, 3]
    dirs = {
        osp.basename(osp.dirname(p['img_path']))
        for p in map(train.get_data_info, range(len(train)))
    }
    assert dirs == {'cars_train', 'cars_test'}


def test_cars_splits_by_class_id(cars_root):
    train = Cars196(cars_root, split='train')
    test = Cars196(cars_root, split='test')
    assert len(train) == 9 and len(test) == 9
    assert sorted(set(class_ids(train))) == [1, 2, 98]
    assert sorted(set(class_ids(test))) == [99, 150, 196]
    assert sorted(
        train.get_gt_labels().tolist()) == [0] * 3 + [1] * 3 + [2] * 3
    assert test.metainfo['classes'][0] == 'Make99 Model 99 Sedan 2012'
    for i in range(len(test)):
        info = test.get_data_info(i)
        assert osp.isfile(info['img_path'])
        assert info['gt_label'] == [99, 150, 196].index(info['class_id'])


def test_cars_layout_detection_and_forcing(tmp_path):
    annos = make_cars196(str(tmp_path / 'a'), layout='annos_mat')
    devkit = make_cars196(str(tmp_path / 'd'), layout='devkit')
    assert osp.basename(Cars196(annos).ann_file) == 'cars_annos.mat'
    assert osp.basename(Cars196(devkit).ann_file) == 'cars_train_annos.mat'
    with pytest.raises(DatasetLayoutError) as excinfo:
        Cars196(devkit, layout='annos_mat')
    assert_clear(excinfo, Cars196, osp.join(devkit, 'cars_annos.mat'))
    with pytest.raises(ValueError):
        Cars196(annos, layout='kaggle')


def test_cars_ignores_test_flag(tmp_path):
    from scipy.io import loadmat
    data_root = make_cars196(str(tmp_path))
    flags = [
        int(r['test'].ravel()[0]) for r in loadmat(
            osp.join(data_root, 'cars_annos.mat'))['annotations'].ravel()
    ]
    assert set(flags) == {0, 1}
    assert len(Cars196(data_root, split='train')) == 9


def test_sop_splits_by_file(sop_root):
    train = SOP(sop_root, split='train')
    test = SOP(sop_root, split='test')
    assert len(train) == 6 and len(test) == 6
    assert sorted(set(class_ids(train))) == list(SOP_TRAIN_CLASS_IDS)
    assert sorted(set(class_ids(test))) == list(SOP_TEST_CLASS_IDS)
    assert test.get_gt_labels().tolist() == [0, 0, 1, 1, 2, 2]
    info = test.get_data_info(0)
    assert info['class_id'] == 11319 and info['super_class_id'] == 4
    assert info['img_path'] == osp.join(sop_root, 'coffee_maker_final',
                                        f'{111085122871 + 11319}_0.JPG')
    assert osp.isfile(info['img_path'])


def test_sop_reindexes_in_sorted_class_order(tmp_path):
    data_root = make_sop(
        str(tmp_path), train_class_ids=(7, 3, 5), test_class_ids=(20, ))
    train = SOP(data_root, split='train')
    assert class_ids(train) == [7, 7, 3, 3, 5, 5]
    assert train.get_gt_labels().tolist() == [2, 2, 0, 0, 1, 1]


def test_inshop_train(inshop_root):
    train = InShop(inshop_root, split='train')
    assert len(train) == 6
    assert class_ids(train) == [inshop_item(i) for i in (1, 1, 2, 2, 3, 3)]
    assert train.get_gt_labels().tolist() == [0, 0, 1, 1, 2, 2]
    assert 'is_query' not in train.get_data_info(0)
    with pytest.raises(ValueError):
        train.get_query_mask()


def test_inshop_query_gallery_share_one_mapping(inshop_root):
    query = InShop(inshop_root, split='query')
    gallery = InShop(inshop_root, split='gallery')
    test = InShop(inshop_root, split='test')
    # items: 5 and 7 in query and gallery, 4 only in gallery
    assert len(query) == 4 and len(gallery) == 6 and len(test) == 10
    mapping = {inshop_item(4): 0, inshop_item(5): 1, inshop_item(7): 2}
    for ds in (query, gallery, test):
        assert ds.metainfo['class_ids'] == tuple(mapping)
        for i in range(len(ds)):
            info = ds.get_data_info(i)
            assert info['gt_label'] == mapping[info['class_id']]
    assert query.get_gt_labels().tolist() == [1, 1, 2, 2]
    assert gallery.get_gt_labels().tolist() == [0, 0, 1, 1, 2, 2]
    assert query.get_query_mask().all()
    assert not gallery.get_query_mask().any()
    # 'test' is query followed by gallery
    assert test.get_query_mask().tolist() == [True] * 4 + [False] * 6
    assert test.get_gt_labels().tolist() == (
        query.get_gt_labels().tolist() + gallery.get_gt_labels().tolist())
    assert [test.get_data_info(i)['img_path'] for i in range(len(test))] == [
        ds.get_data_info(i)['img_path'] for ds in (query, gallery)
        for i in range(len(ds))
    ]


def test_inshop_partition_in_eval_folder(tmp_path):
    data_root = make_inshop(str(tmp_path))
    os.makedirs(osp.join(data_root, 'Eval'))
    shutil.move(
        osp.join(data_root, 'list_eval_partition.txt'),
        osp.join(data_root, 'Eval', 'list_eval_partition.txt'))
    assert len(InShop(data_root, split='test')) == 10


# ----------------------------------------------------------------------------
# macOS artefacts
def test_is_macos_junk():
    assert is_macos_junk('car_ims/._000001.jpg')
    assert is_macos_junk('._cars_annos.mat')
    assert is_macos_junk('__MACOSX/CUB_200_2011/images.txt')
    assert not is_macos_junk('img/WOMEN/Dresses/id_1/02_1_front.jpg')
    assert not is_macos_junk('bicycle_final/111085122871_0.JPG')


@pytest.mark.parametrize('layout', ['annos_mat', 'devkit'])
def test_macos_junk_is_skipped(tmp_path, layout):
    cub = make_cub(str(tmp_path / 'cub'), macos_junk=True)
    cars = make_cars196(str(tmp_path / 'cars'), layout=layout, macos_junk=True)
    sop = make_sop(str(tmp_path / 'sop'), macos_junk=True)
    inshop = make_inshop(str(tmp_path / 'inshop'), macos_junk=True)
    # the annotations do name ._* files, which exist (as AppleDouble)
    assert '._' in open(osp.join(cub, 'images.txt')).read()
    assert '._' in open(osp.join(sop, 'Ebay_train.txt')).read()
    assert osp.isfile(
        osp.join(tmp_path / 'cub', '__MACOSX', 'CUB_200_2011', '._images.txt'))
    for ds, n in ((CUB(cub), 9), (CUB(str(tmp_path / 'cub')), 9),
                  (Cars196(cars), 9), (SOP(sop), 6), (InShop(inshop), 6)):
        assert len(ds) == n
        paths = [ds.get_data_info(i)['img_path'] for i in range(len(ds))]
        assert not any(osp.basename(p).startswith('._') for p in paths)


# ----------------------------------------------------------------------------
# bad input: one clear error naming the file, the layout and the source
@pytest.mark.parametrize('cls', [CUB, Cars196, SOP, InShop])
def test_missing_data_root(tmp_path, cls):
    missing = str(tmp_path / 'nowhere')
    with pytest.raises(DatasetLayoutError) as excinfo:
        cls(missing)
    assert_clear(excinfo, cls, missing, 'data_root')
    # lazy_init defers the check to full_init
    ds = cls(missing, lazy_init=True)
    with pytest.raises(DatasetLayoutError):
        ds.full_init()


def test_missing_annotation_files(tmp_path):
    cub = make_cub(str(tmp_path / 'cub'))
    os.remove(osp.join(cub, 'image_class_labels.txt'))
    with pytest.raises(DatasetLayoutError) as excinfo:
        CUB(cub)
    assert_clear(excinfo, CUB, osp.join(cub, 'image_class_labels.txt'))

    sop = make_sop(str(tmp_path / 'sop'))
    os.remove(osp.join(sop, 'Ebay_test.txt'))
    assert len(SOP(sop, split='train')) == 6
    with pytest.raises(DatasetLayoutError) as excinfo:
        SOP(sop, split='test')
    assert_clear(excinfo, SOP, osp.join(sop, 'Ebay_test.txt'))

    inshop = make_inshop(str(tmp_path / 'inshop'))
    os.remove(osp.join(inshop, 'list_eval_partition.txt'))
    with pytest.raises(DatasetLayoutError) as excinfo:
        InShop(inshop)
    assert_clear(excinfo, InShop, osp.join(inshop, 'list_eval_partition.txt'))


def test_cars_missing_annotations(tmp_path):
    empty = tmp_path / 'cars196'
    (empty / 'car_ims').mkdir(parents=True)
    # a ._cars_annos.mat alone is not the annotation file
    (empty / '._cars_annos.mat').write_bytes(APPLEDOUBLE)
    with pytest.raises(DatasetLayoutError) as excinfo:
        Cars196(str(empty))
    msg = assert_clear(excinfo, Cars196, str(empty), 'cars_annos.mat',
                       'devkit/cars_train_annos.mat')
    assert 'cars_test_annos_withlabels.mat' in msg  # the layout tree

    devkit = make_cars196(str(tmp_path / 'd'), layout='devkit')
    withlabels = osp.join(devkit, 'cars_test_annos_withlabels.mat')
    os.remove(withlabels)
    with pytest.raises(DatasetLayoutError) as excinfo:
        Cars196(devkit)
    assert_clear(excinfo, Cars196, withlabels, 'no class field')


def test_malformed_cub_line(tmp_path):
    cub = make_cub(str(tmp_path))
    images = osp.join(cub, 'images.txt')
    rewrite(images, lambda lines: lines[:4] + ['5 a b'] + lines[5:])
    excinfo = assert_malformed(CUB, cub, f'{images}, line 5', "'5 a b'")
    assert isinstance(excinfo.value, ValueError)

    rewrite(images,
            lambda lines: lines[:4] + ['x 001.Bird_1/a.jpg'] + lines[5:])
    assert_malformed(CUB, cub, f'{images}, line 5', "'x'")


def test_malformed_cub_labels(tmp_path):
    cub = make_cub(str(tmp_path))
    labels = osp.join(cub, 'image_class_labels.txt')
    rewrite(labels, lambda lines: lines[:1] + ['2 201'] + lines[2:])
    assert_malformed(CUB, cub, f'{labels}, line 2', '201')
    rewrite(labels, lambda lines: lines[:1] + lines[2:])
    assert_malformed(CUB, cub, osp.join(cub, 'images.txt'), 'line 2',
                     'image id 2 has no class')


def test_malformed_sop_and_inshop(tmp_path):
    sop = make_sop(str(tmp_path / 'sop'))
    ebay = osp.join(sop, 'Ebay_train.txt')
    rewrite(ebay, lambda lines: lines[1:])  # header lost
    assert_malformed(SOP, sop, f'{ebay}, line 1', 'header')
    rewrite(
        ebay, lambda lines: ['image_id class_id super_class_id path'] +
        lines[:2] + ['3 one 1 bicycle_final/x.JPG'] + lines[3:])
    assert_malformed(SOP, sop, f'{ebay}, line 4', 'class_id')

    inshop = make_inshop(str(tmp_path / 'inshop'))
    part = osp.join(inshop, 'list_eval_partition.txt')
    rewrite(
        part, lambda lines: lines[:4] + [lines[4].replace('train', 'val')] +
        lines[5:])
    assert_malformed(InShop, inshop, f'{part}, line 5', "'val'")
    rewrite(part, lambda lines: lines[:4] + lines[5:])  # count now wrong
    assert_malformed(InShop, inshop, f'{part}, line 1', 'truncated')
    rewrite(part, lambda lines: [lines[0]] + lines[2:])  # header lost
    assert_malformed(InShop, inshop, f'{part}, line 2', 'header')


def test_malformed_cars_mat(tmp_path):
    from scipy.io import loadmat, savemat
    data_root = make_cars196(str(tmp_path))
    path = osp.join(data_root, 'cars_annos.mat')
    mat = loadmat(path)
    ann = mat['annotations']
    fields = [f for f in ann.dtype.names if f != 'class']
    no_class = np.zeros(ann.shape, dtype=[(f, 'O') for f in fields])
    for f in fields:
        no_class[f] = ann[f]
    savemat(path, dict(annotations=no_class))
    assert_malformed(Cars196, data_root, path, "'class'")

    ann[0, 2]['class'] = np.array([[197]], dtype=np.uint8)
    savemat(path, dict(annotations=ann))
    assert_malformed(Cars196, data_root, path, 'entry 3', '197')

    with open(path, 'wb') as f:
        f.write(b'not a mat file at all' * 10)
    assert_malformed(Cars196, data_root, path, 'MATLAB')


@pytest.mark.parametrize('name', ['cub', 'cars', 'sop', 'inshop'])
def test_annotation_naming_missing_image(tmp_path, name):
    make, cls, split = dict(
        cub=(make_cub, CUB, 'test'),
        cars=(make_cars196, Cars196, 'test'),
        sop=(make_sop, SOP, 'test'),
        inshop=(make_inshop, InShop, 'gallery'))[name]
    data_root = make(str(tmp_path))
    ds = cls(data_root, split=split)
    victims = [ds.get_data_info(i)['img_path'] for i in (1, 4)]
    for victim in victims:
        os.remove(victim)
    with pytest.raises(DatasetLayoutError) as excinfo:
        cls(data_root, split=split)
    msg = assert_clear(excinfo, cls, victims[0], 'check_files=False')
    assert 'and 1 more' in msg
    # check_files=False skips the check; loading the image then fails clearly
    ds = cls(
        data_root,
        split=split,
        check_files=False,
        pipeline=[dict(type='LoadImageFromFile')])
    assert len(ds) == len(victims) + len(ds) - 2
    with pytest.raises(DatasetLayoutError) as excinfo:
        ds[1]
    assert_clear(excinfo, cls, victims[0], 'not found')


def test_missing_image_folder(tmp_path):
    cub = make_cub(str(tmp_path))
    shutil.rmtree(osp.join(cub, 'images'))
    with pytest.raises(DatasetLayoutError) as excinfo:
        CUB(cub)
    assert_clear(excinfo, CUB, osp.join(cub, 'images'), 'image folder')


def test_find_missing_files(tmp_path):
    (tmp_path / 'a').mkdir()
    (tmp_path / 'a' / 'x.jpg').write_bytes(b'1')
    (tmp_path / 'a' / 'sub.jpg').mkdir()  # a folder is not an image
    paths = [str(tmp_path / 'a' / n) for n in ('x.jpg', 'y.jpg', 'sub.jpg')]
    paths.append(str(tmp_path / 'b' / 'z.jpg'))
    assert find_missing_files(paths) == paths[1:]


@pytest.mark.parametrize('test_mode', [True, False])
@pytest.mark.parametrize('content', [b'', b'garbage, not a jpeg' * 20])
def test_unreadable_image(tmp_path, test_mode, content):
    cub = make_cub(str(tmp_path))
    ds = CUB(
        cub,
        split='train',
        test_mode=test_mode,
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='PackInputs')])
    victim = ds.get_data_info(2)['img_path']
    with open(victim, 'wb') as f:
        f.write(content)
    assert ds[1]['inputs'].shape[-2:] == (16, 16)
    with pytest.raises(DatasetLayoutError) as excinfo:
        ds[2]
    msg = assert_clear(excinfo, CUB, victim, "split 'train'")
    assert ('empty' if not content else 'cannot be decoded') in msg
    err = excinfo.value  # survives the trip out of a dataloader worker
    assert str(pickle.loads(pickle.dumps(err))) == msg


def truncate(path: str, keep: float = 0.6) -> None:
    """Cut a JPEG past its header, as an interrupted copy does."""
    with open(path, 'rb') as f:
        data = f.read()
    with open(path, 'wb') as f:
        f.write(data[:int(len(data) * keep)])


def test_truncated_jpeg_is_a_layout_error(tmp_path):
    """cv2.imread half-decodes a truncated JPEG; the pipeline does not, and
    the user gets the dataset's error, not the loader's assertion."""
    cub = make_cub(str(tmp_path), image_size=32)
    ds = CUB(
        cub,
        split='train',
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='PackInputs')])
    victim = ds.get_data_info(2)['img_path']
    truncate(victim)
    with pytest.raises(DatasetLayoutError) as excinfo:
        ds[2]
    assert 'cannot be decoded' in assert_clear(excinfo, CUB, victim)


def test_check_images_decode_lists_every_bad_file(tmp_path):
    cub = make_cub(str(tmp_path), image_size=32)
    ds = CUB(cub, split='test')
    victims = [ds.get_data_info(i)['img_path'] for i in (0, 3)]
    truncate(victims[0])
    with open(victims[1], 'wb') as f:
        f.write(b'not an image' * 10)
    CUB(cub, split='train', check_images='decode')  # train images are fine
    with pytest.raises(DatasetLayoutError) as excinfo:
        CUB(cub, split='test', check_images='decode')
    msg = assert_clear(excinfo, CUB, *victims)
    assert f'2 of {len(ds)} images' in msg
    with pytest.raises(ValueError, match='check_images'):
        CUB(cub, split='test', check_images='yes')


def test_missing_image_with_ignore_empty(tmp_path):
    cub = make_cub(str(tmp_path))
    pipeline = [dict(type='LoadImageFromFile', ignore_empty=True)]
    victim = CUB(cub, split='test').get_data_info(0)['img_path']
    os.remove(victim)
    # LoadImageFromFile(ignore_empty=True) returns None for a missing file.
    # Test mode: that None is diagnosed instead of mmengine's bare Exception
    test = CUB(cub, split='test', check_files=False, pipeline=pipeline)
    with pytest.raises(DatasetLayoutError) as excinfo:
        test[0]
    assert_clear(excinfo, CUB, victim, 'image file not found')
    # train mode keeps mmengine's re-draw of another sample
    train = CUB(
        cub,
        split='test',
        test_mode=False,
        check_files=False,
        pipeline=pipeline)
    assert train[0]['img_path'] != victim


def test_pipeline_errors_unrelated_to_images_pass_through(cub_root):

    def broken(results):
        raise KeyError('a bug in a transform')

    ds = CUB(cub_root, pipeline=[dict(type='LoadImageFromFile'), broken])
    with pytest.raises(KeyError, match='a bug in a transform'):
        ds[0]


def test_split_without_images(tmp_path):
    cub = make_cub(str(tmp_path / 'cub'), class_ids=(1, 2, 3))
    assert len(CUB(cub, split='train')) == 9
    with pytest.raises(DatasetLayoutError) as excinfo:
        CUB(cub, split='test')
    assert_clear(excinfo, CUB, osp.join(cub, 'images.txt'),
                 "split 'test' has no images")
    cars = make_cars196(str(tmp_path / 'cars'), class_ids=(120, 130))
    with pytest.raises(DatasetLayoutError) as excinfo:
        Cars196(cars, split='train')
    assert_clear(excinfo, Cars196, osp.join(cars, 'cars_annos.mat'),
                 'no images')
    inshop = make_inshop(
        str(tmp_path / 'inshop'),
        query_gallery_items=(),
        gallery_only_items=(4, ))
    with pytest.raises(DatasetLayoutError) as excinfo:
        InShop(inshop, split='query')
    assert_clear(excinfo, InShop, 'list_eval_partition.txt', 'no images')


def test_verify_counts(cub_root, sop_root, inshop_root):
    for ds, full in ((lambda **kw: CUB(cub_root, **kw),
                      '5,864'), (lambda **kw: SOP(sop_root, **kw), '59,551'),
                     (lambda **kw: InShop(inshop_root, **kw), '25,882')):
        assert len(ds()) > 0
        with pytest.raises(DatasetLayoutError) as excinfo:
            ds(verify_counts=True)
        assert full in str(excinfo.value)
        assert 'incomplete' in str(excinfo.value)
    for cls in (CUB, Cars196, SOP, InShop):
        assert set(cls.FULL_SIZE_EXPECTATIONS) == set(cls.SPLITS)
        for split, (images, classes) in cls.FULL_SIZE_EXPECTATIONS.items():
            assert f'{images:,}' in cls.__doc__, (cls, split)


def test_bad_split_and_root_type(cub_root):
    with pytest.raises(ValueError):
        CUB(cub_root, split='val')
    with pytest.raises(ValueError):
        InShop(cub_root, split='validation')
    with pytest.raises(DatasetLayoutError):
        CUB('')


def test_readme_agrees_with_readers():
    with open(osp.join(REPO, 'data', 'README.md')) as f:
        readme = f.read()
    for cls in (CUB, Cars196, SOP, InShop):
        assert cls.LAYOUT.strip() in readme, cls
        assert cls.SOURCE in readme, cls
    for folder in ('data/CUB_200_2011', 'data/cars196',
                   'data/Stanford_Online_Products', 'data/inshop'):
        assert folder in readme


# ----------------------------------------------------------------------------
# through the registry and a pipeline
@pytest.mark.parametrize('name', ['CUB', 'Cars196', 'SOP', 'InShop'])
def test_build_with_pipeline(tmp_path, name):
    init_default_scope('gcahng')
    data_root = dict(
        CUB=make_cub, Cars196=make_cars196, SOP=make_sop,
        InShop=make_inshop)[name](
            str(tmp_path))
    train = DATASETS.build(
        dict(
            type=name,
            data_root=data_root,
            split='train',
            pipeline=[
                dict(type='LoadImageFromFile'),
                dict(type='RandomResizedCrop', scale=32),
                dict(type='RandomFlip', prob=0.5, direction='horizontal'),
                dict(type='PackInputs'),
            ]))
    assert type(train).__module__.startswith('gcahng.datasets')
    out = train[0]
    assert tuple(out['inputs'].shape) == (3, 32, 32)
    assert out['data_samples'].gt_label.tolist() == [0]
    test_split = 'test'
    test = DATASETS.build(
        dict(
            type=name,
            data_root=data_root,
            split=test_split,
            pipeline=[
                dict(type='LoadImageFromFile'),
                dict(type='ResizeEdge', scale=40, edge='short'),
                dict(type='CenterCrop', crop_size=32),
                dict(type='PackInputs', meta_keys=META_KEYS),
            ]))
    outs = [test[i] for i in range(len(test))]
    assert all(tuple(o['inputs'].shape) == (3, 32, 32) for o in outs)
    labels = [int(o['data_samples'].gt_label) for o in outs]
    assert labels == test.get_gt_labels().tolist()
    if name == 'InShop':
        flags = [o['data_samples'].is_query for o in outs]
        assert flags == test.get_query_mask().tolist()
        assert flags == [True] * 4 + [False] * 6


def test_default_fixture_class_ids_straddle_real_boundaries():
    assert min(CUB_CLASS_IDS) <= CUB.LAST_TRAIN_CLASS < max(CUB_CLASS_IDS)
    assert CUB.LAST_TRAIN_CLASS == 100 and Cars196.LAST_TRAIN_CLASS == 98
    assert min(CARS_CLASS_IDS) <= 98 < max(CARS_CLASS_IDS)


def test_partial_download_warns(cub_root, monkeypatch):
    """A benchmark whose counts are not the complete download's warns (an
    error with verify_counts=True); the icon benchmark has no such counts."""
    from gcahng.datasets import IconThemes
    messages = []
    monkeypatch.setattr('mmengine.logging.print_log',
                        lambda msg, **kw: messages.append(msg))
    CUB(cub_root)
    assert len(messages) == 1 and 'looks partial' in messages[0]
    assert '5,864' in messages[0]
    IconThemes(cub_root)
    assert len(messages) == 1
