from collections import Counter

import numpy as np
import pytest
import torch
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from gcahng.datasets import BalancedClassSampler
from gcahng.datasets.samplers import balanced_sampler
from gcahng.registry import DATA_SAMPLERS


class LabelDataset:
    """A dataset that only knows its labels, through one of three APIs."""

    def __init__(self, labels, api='gt_labels'):
        self.labels = np.asarray(labels)
        if api == 'cat_ids':
            self.get_cat_ids = lambda i: [int(self.labels[i])]
        elif api == 'data_info':
            self.get_data_info = lambda i: dict(gt_label=self.labels[i])
        else:
            self.get_gt_labels = lambda: self.labels.copy()

    def __len__(self):
        return len(self.labels)


def _labels(num_classes, per_class):
    return np.repeat(np.arange(num_classes), per_class)


def _batches(sampler, dataset):
    idx = np.array(list(sampler))
    assert len(idx) == len(sampler)
    b = sampler.num_classes_per_batch * sampler.num_samples_per_class
    assert len(idx) % b == 0
    return idx.reshape(-1, b), dataset.labels[idx].reshape(-1, b)


def _check_group_order(labels, n, m):
    for batch in labels:
        grid = batch.reshape(m, n)
        # every group holds the same N classes in the same order
        assert (grid == grid[0]).all()
        assert len(set(grid[0].tolist())) == n


@pytest.mark.parametrize('api', ['gt_labels', 'cat_ids', 'data_info'])
def test_group_order(api):
    ds = LabelDataset(_labels(12, 10), api=api)
    sampler = BalancedClassSampler(ds, 4, 3, seed=0)
    # len(dataset) // B batches
    assert len(sampler) == (120 // 12) * 12
    idx, labels = _batches(sampler, LabelDataset(ds.labels))
    _check_group_order(labels, 4, 3)
    # no sample twice in a batch when the classes are big enough
    for batch in idx:
        assert len(set(batch.tolist())) == len(batch)


def test_layout_is_group_major():
    """Index i = g * N + n: slot n of every group is the same class."""
    ds = LabelDataset(_labels(5, 4))
    sampler = BalancedClassSampler(ds, 5, 4, seed=3)
    _, labels = _batches(sampler, ds)
    first = labels[0]
    assert first[:5].tolist() == first[5:10].tolist()
    assert sorted(first[:5].tolist()) == [0, 1, 2, 3, 4]
    # a wrong (class-major) layout would put equal labels side by side
    assert first[0] != first[1]


def test_even_coverage():
    ds = LabelDataset(_labels(10, 8))
    sampler = BalancedClassSampler(ds, 5, 2, seed=1)
    idx, labels = _batches(sampler, ds)
    # 80 // 10 = 8 batches, 40 class slots: each class exactly 4 times
    assert labels.shape == (8, 10)
    counts = Counter(labels[:, :5].reshape(-1).tolist())
    assert set(counts.values()) == {4}
    # samples without replacement: 80 draws from 80 samples, all distinct
    assert len(set(idx.reshape(-1).tolist())) == 80


def test_small_classes_with_replacement():
    labels = np.concatenate([_labels(6, 5), [6, 7, 7]])  # classes 6, 7 small
    ds = LabelDataset(labels)
    sampler = BalancedClassSampler(ds, 8, 4, seed=0)
    assert len(sampler) == 32  # one batch at least
    for epoch in range(5):
        sampler.set_epoch(epoch)
        idx, lab = _batches(sampler, ds)
        _check_group_order(lab, 8, 4)
        grid_idx = idx[0].reshape(4, 8)
        grid_lab = lab[0].reshape(4, 8)
        for n in range(8):
            column = grid_idx[:, n]
            assert (labels[column] == grid_lab[0, n]).all()
            # small classes use all their samples before repeating
            size = (labels == grid_lab[0, n]).sum()
            assert len(set(column.tolist())) == min(size, 4)


def test_too_few_classes():
    ds = LabelDataset(_labels(3, 10))
    with pytest.raises(ValueError, match=r'3 classes.*4'):
        BalancedClassSampler(ds, 4, 2, seed=0)
    with pytest.raises(ValueError):
        BalancedClassSampler(ds, 2, 0, seed=0)


def test_determinism_and_set_epoch():
    ds = LabelDataset(_labels(20, 9))
    a = BalancedClassSampler(ds, 5, 3, seed=7)
    b = BalancedClassSampler(ds, 5, 3, seed=7)
    c = BalancedClassSampler(ds, 5, 3, seed=8)
    first = list(a)
    assert first == list(b) == list(a)
    assert first != list(c)
    a.set_epoch(1)
    second = list(a)
    assert second != first
    _check_group_order(ds.labels[second].reshape(-1, 15), 5, 3)
    b.set_epoch(1)
    assert list(b) == second


def test_default_seed_is_synced(monkeypatch):
    monkeypatch.setattr(balanced_sampler, 'sync_random_seed', lambda: 1234)
    ds = LabelDataset(_labels(6, 4))
    assert BalancedClassSampler(ds, 3, 2).seed == 1234


def test_no_shuffle():
    ds = LabelDataset(_labels(4, 3))
    sampler = BalancedClassSampler(ds, 2, 3, shuffle=False)
    idx, _ = _batches(sampler, ds)
    assert idx.tolist() == [[0, 3, 1, 4, 2, 5], [6, 9, 7, 10, 8, 11]]


@pytest.mark.parametrize('round_up', [True, False])
def test_distributed_split(monkeypatch, round_up):
    ds = LabelDataset(_labels(16, 10))  # 160 samples, B = 12: 13 batches
    world = 3
    per_rank = []
    for rank in range(world):
        monkeypatch.setattr(
            balanced_sampler, 'get_dist_info', lambda r=rank: (r, world))
        sampler = BalancedClassSampler(ds, 4, 3, seed=5, round_up=round_up)
        assert (sampler.rank, sampler.world_size) == (rank, world)
        idx, labels = _batches(sampler, ds)
        _check_group_order(labels, 4, 3)
        per_rank.append(idx)
    # every rank the same number of batches
    expected = 5 if round_up else 4
    assert [len(b) for b in per_rank] == [expected] * world
    # ranks get different batches, and together about one pass: few samples
    # are seen twice
    assert not np.array_equal(per_rank[0], per_rank[1])
    flat = np.concatenate([b.reshape(-1) for b in per_rank])
    if round_up:
        # 15 batches of 12 > 160 samples: some repeats, most samples seen
        assert len(flat) == 180 and len(set(flat.tolist())) >= 150
    else:
        # 12 batches of 12 from 160 samples: no sample twice
        assert len(set(flat.tolist())) == len(flat) == 144


def test_runner_build_dataloader():
    with DefaultScope.overwrite_default_scope('gcahng'):
        assert DATA_SAMPLERS.get('BalancedClassSampler') is \
            BalancedClassSampler
        loader = Runner.build_dataloader(
            dict(
                batch_size=4 * 3,
                num_workers=0,
                sampler=dict(
                    type='BalancedClassSampler',
                    num_classes_per_batch=4,
                    num_samples_per_class=3),
                dataset=dict(
                    type='SyntheticFineGrained',
                    split='train',
                    num_classes=16,
                    samples_per_class=5,
                    img_size=32,
                    pipeline=[dict(type='PackInputs')])),
            seed=11)
    assert isinstance(loader.sampler, BalancedClassSampler)
    assert loader.sampler.seed == 11
    batches = list(loader)
    assert len(batches) == len(loader) == 40 // 12
    for batch in batches:
        assert len(batch['inputs']) == 12
        assert tuple(batch['inputs'][0].shape) == (3, 32, 32)
        labels = torch.stack([s.gt_label
                              for s in batch['data_samples']]).view(3, 4)
        assert (labels == labels[0]).all()
        assert len(set(labels[0].tolist())) == 4


def test_small_classes_are_reported_once(monkeypatch):
    """Classes with fewer than M samples: one warning with their number and
    the smallest size, none when every class is large enough."""
    warnings = []
    monkeypatch.setattr(balanced_sampler, 'print_log',
                        lambda msg, **kw: warnings.append(msg))
    labels = np.concatenate([_labels(6, 5), [6, 7, 7]])
    BalancedClassSampler(LabelDataset(labels), 8, 4, seed=0)
    BalancedClassSampler(LabelDataset(_labels(8, 4)), 8, 4, seed=0)
    assert len(warnings) == 1
    assert '2 of 8 classes' in warnings[0] and 'smallest 1' in warnings[0]
