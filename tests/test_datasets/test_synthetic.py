import pickle

import numpy as np
import pytest
import torch
from mmengine.registry import DefaultScope

from gcahng.datasets import SyntheticFineGrained
from gcahng.datasets.synthetic import (MAX_CLASSES, SPECIES_PER_GENUS,
                                       class_attributes)
from gcahng.registry import DATASETS

SMALL = dict(num_classes=16, samples_per_class=6, img_size=48)


def _attr_key(attr):
    return tuple(attr[k] for k in ('shape', 'palette', 'texture',
                                   'texture_variant', 'marks', 'mark_colour'))


def test_class_design():
    attrs = class_attributes(64)
    assert len(attrs) == 64
    # every class is a distinct attribute combination, names are unique
    assert len({_attr_key(a) for a in attrs}) == 64
    assert len({a['name'] for a in attrs}) == 64
    # fine-grained: neighbours inside a genus differ in exactly one of the
    # species attributes and share the genus attributes
    for c in range(63):
        a, b = attrs[c], attrs[c + 1]
        if a['genus'] != b['genus']:
            continue
        assert all(a[k] == b[k] for k in ('shape', 'palette', 'texture'))
        diff = sum(a[k] != b[k]
                   for k in ('texture_variant', 'marks', 'mark_colour'))
        assert diff == 1
    assert attrs[SPECIES_PER_GENUS]['genus'] == 1
    # the test half recombines the attribute values of the train half:
    # same shapes, palettes and texture types, new genus combinations
    for key in ('shape', 'palette', 'texture'):
        assert {a[key] for a in attrs[:32]} == {a[key] for a in attrs[32:]}
    # ... and a test genus shares at most one of them with any train genus
    for a in attrs[32:]:
        for b in attrs[:32]:
            assert sum(a[k] == b[k]
                       for k in ('shape', 'palette', 'texture')) <= 1
    # the whole design space is distinct too
    assert len({_attr_key(a) for a in class_attributes(MAX_CLASSES)}) == \
        MAX_CLASSES
    # another class seed gives another design
    assert [a['name'] for a in class_attributes(64, class_seed=1)] != \
        [a['name'] for a in attrs]
    with pytest.raises(ValueError):
        class_attributes(MAX_CLASSES + 1)


def test_splits_and_labels():
    train = SyntheticFineGrained(split='train', **SMALL)
    test = SyntheticFineGrained(split='test', **SMALL)
    full = SyntheticFineGrained(split='all', **SMALL)
    assert len(train) == len(test) == 8 * 6
    assert len(full) == 16 * 6

    def class_ids(ds):
        return {ds.get_data_info(i)['class_id'] for i in range(len(ds))}

    assert class_ids(train) == set(range(8))
    assert class_ids(test) == set(range(8, 16))
    # labels are re-indexed from 0 within a split
    for ds, offset in ((train, 0), (test, 8)):
        labels = ds.get_gt_labels()
        assert labels.dtype == np.int64
        assert set(labels.tolist()) == set(range(8))
        assert np.bincount(labels).tolist() == [6] * 8
        for i in (0, 7, len(ds) - 1):
            info = ds.get_data_info(i)
            assert info['gt_label'] == labels[i]
            assert info['class_id'] == labels[i] + offset
            assert ds.get_cat_ids(i) == [int(labels[i])]
    # metainfo names the classes of the split, in label order
    names = [a['name'] for a in class_attributes(16)]
    assert train.metainfo['classes'] == tuple(names[:8])
    assert test.metainfo['classes'] == tuple(names[8:])
    assert len(full.metainfo['classes']) == 16
    # an image does not depend on the split it is read from
    np.testing.assert_array_equal(
        test.get_data_info(0)['img'],
        full.get_data_info(8 * 6)['img'])
    # odd totals: the test half gets the extra class
    odd = SyntheticFineGrained(
        split='test', num_classes=5, samples_per_class=2, img_size=32)
    assert len(odd.metainfo['classes']) == 3
    with pytest.raises(ValueError):
        SyntheticFineGrained(split='val')


def test_image_format_and_determinism():
    ds = SyntheticFineGrained(split='train', **SMALL)
    info = ds.get_data_info(5)
    img = info['img']
    assert img.shape == (48, 48, 3) and img.dtype == np.uint8
    assert info['img_shape'] == info['ori_shape'] == (48, 48)
    assert info['sample_idx'] == 5
    # not a flat image
    assert img.std() > 10
    # same index -> identical image: repeated, uncached, another instance
    again = SyntheticFineGrained(split='train', cache=False, **SMALL)
    np.testing.assert_array_equal(img, ds.get_data_info(5)['img'])
    np.testing.assert_array_equal(img, again.get_data_info(5)['img'])
    np.testing.assert_array_equal(img, again.get_data_info(5)['img'])
    # the returned image is a copy: editing it leaves the cache intact
    img[:] = 0
    assert ds.get_data_info(5)['img'].std() > 10
    # a dataset that went through pickling (dataloader workers) agrees
    clone = pickle.loads(pickle.dumps(again))
    np.testing.assert_array_equal(
        clone.get_data_info(11)['img'],
        ds.get_data_info(11)['img'])
    # other samples and other seeds differ
    assert not np.array_equal(
        ds.get_data_info(5)['img'],
        ds.get_data_info(6)['img'])
    other = SyntheticFineGrained(split='train', seed=1, **SMALL)
    assert not np.array_equal(
        ds.get_data_info(5)['img'],
        other.get_data_info(5)['img'])
    # rectangular sizes
    rect = SyntheticFineGrained(
        num_classes=4, samples_per_class=1, img_size=(40, 56))
    assert rect.get_data_info(0)['img'].shape == (40, 56, 3)


def test_difficulty_zero_is_clean():
    ds = SyntheticFineGrained(difficulty=0.0, **SMALL)
    # without nuisances all samples of a class are the same image
    np.testing.assert_array_equal(
        ds.get_data_info(0)['img'],
        ds.get_data_info(1)['img'])


def test_classes_are_distinguishable():
    """Neighbouring classes differ when rendered clean, and the species of
    one genus are told apart from their pixels by a nearest class mean."""
    attrs = class_attributes(16)
    clean = SyntheticFineGrained(
        split='all',
        num_classes=16,
        samples_per_class=1,
        img_size=64,
        difficulty=0.0)
    imgs = [
        clean.get_data_info(c)['img'].astype(np.float32) for c in range(16)
    ]
    for c in range(15):
        if attrs[c]['genus'] == attrs[c + 1]['genus']:
            # one attribute apart, still a visible difference
            assert np.abs(imgs[c] - imgs[c + 1]).max() > 60

    # the train split of 16 classes is one genus: 8 fine-grained species
    ds = SyntheticFineGrained(
        split='train',
        num_classes=16,
        samples_per_class=20,
        img_size=32,
        difficulty=0.3)
    assert len({attrs[c]['genus'] for c in range(8)}) == 1
    labels = ds.get_gt_labels()
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    x = np.stack([info['img'].reshape(-1) for info in infos])
    x = x.astype(np.float32)
    fit = np.array([info['instance_id'] < 10 for info in infos])
    means = np.stack([x[fit & (labels == c)].mean(0) for c in range(8)])
    dist = ((x[~fit, None] - means[None])**2).sum(-1)
    acc = (dist.argmin(1) == labels[~fit]).mean()
    # chance is 1/8; rendering that ignored the class would stay near it
    assert acc > 0.5, acc


def test_registry_and_pipeline():
    with DefaultScope.overwrite_default_scope('gcahng'):
        ds = DATASETS.build(
            dict(
                type='SyntheticFineGrained',
                split='test',
                num_classes=8,
                samples_per_class=3,
                img_size=64,
                pipeline=[
                    dict(
                        type='RandomResizedCrop',
                        scale=56,
                        crop_ratio_range=(0.5, 1.0)),
                    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
                    dict(type='PackInputs'),
                ]))
    assert isinstance(ds, SyntheticFineGrained)
    out = ds[4]
    assert tuple(out['inputs'].shape) == (3, 56, 56)
    assert out['inputs'].dtype == torch.uint8
    sample = out['data_samples']
    assert int(sample.gt_label) == ds.get_gt_labels()[4]
    assert sample.ori_shape == (64, 64)

    with DefaultScope.overwrite_default_scope('gcahng'):
        test_ds = DATASETS.build(
            dict(
                type='SyntheticFineGrained',
                split='test',
                num_classes=8,
                samples_per_class=3,
                test_mode=True,
                pipeline=[
                    dict(type='ResizeEdge', scale=72, edge='short'),
                    dict(type='CenterCrop', crop_size=64),
                    dict(type='PackInputs'),
                ]))
    assert tuple(test_ds[0]['inputs'].shape) == (3, 64, 64)
    assert 'Split' in repr(test_ds)
