"""Global-batch dealing (docs/algorithm.md §9): every rank loads its share of
one N x M batch; configure_global_batch connects it to model.global_batch."""
import numpy as np
import pytest
from mmengine.config import Config
from mmengine.logging import MessageHub
from test_balanced_sampler import LabelDataset, _labels

from gcahng.datasets import (BalancedClassSampler, GlobalBatchSampler,
                             configure_global_batch)
from gcahng.datasets.samplers import balanced_sampler, global_batch_share
from gcahng.models.utils.global_batch import GLOBAL_BATCH_INFO


@pytest.mark.parametrize('world_size', [2, 4, 8])
def test_shares_of_the_papers_batch_are_whole_and_even(world_size):
    shares = [global_batch_share(27, r, world_size) for r in range(world_size)]
    assert shares[0][0] == 0 and shares[-1][1] == 27
    assert all(a[1] == b[0] for a, b in zip(shares, shares[1:]))
    sizes = [last - first for first, last in shares]
    assert max(sizes) - min(sizes) <= 1 and sizes == sorted(sizes)[::-1]


def test_more_ranks_than_classes_is_an_error():
    with pytest.raises(ValueError, match='9 ranks cannot share'):
        global_batch_share(8, 0, 9)


def _sampler(monkeypatch, rank, world_size, n=9, m=3, **kwargs):
    monkeypatch.setattr(balanced_sampler, 'get_dist_info', lambda:
                        (rank, world_size))
    dataset = LabelDataset(_labels(20, 7))
    return BalancedClassSampler(
        dataset, n, m, seed=3, global_batch=True, **kwargs), dataset


@pytest.mark.parametrize('world_size', [1, 2, 4])
def test_ranks_load_the_single_process_batches(monkeypatch, world_size):
    """Putting the ranks' shares side by side (class slots) gives exactly
    the single-process batches, in group order, in the same number."""
    single, _ = _sampler(monkeypatch, 0, 1)
    ref = np.array(list(single)).reshape(-1, 3, 9)  # [batch, M, N]
    parts = []
    for rank in range(world_size):
        sampler, _ = _sampler(monkeypatch, rank, world_size)
        batches = list(GlobalBatchSampler(sampler, 27))
        assert len(batches) == len(ref) == sampler.num_batches
        width = sampler.share[1] - sampler.share[0]
        parts.append(np.array(batches).reshape(len(ref), 3, width))
    np.testing.assert_array_equal(np.concatenate(parts, axis=2), ref)


def test_global_batch_sampler_checks_its_batch_size_and_sampler(monkeypatch):
    sampler, dataset = _sampler(monkeypatch, 0, 2)
    with pytest.raises(ValueError, match='batch_size=13'):
        GlobalBatchSampler(sampler, 13)
    local = BalancedClassSampler(dataset, 9, 3, seed=0)
    with pytest.raises(TypeError, match='global_batch=True'):
        GlobalBatchSampler(local, 27)
    hub = MessageHub.get_instance('test_global_batch_sampler')
    GlobalBatchSampler(sampler, 27)
    assert hub.get_info(GLOBAL_BATCH_INFO) == (9, 3)
    assert GLOBAL_BATCH_INFO not in hub.state_dict()['runtime_info']


def _cfg(**model):
    return Config(
        dict(
            launcher='pytorch',
            model=dict(type='GCAHNG', **model),
            train_dataloader=dict(
                batch_size=27,
                sampler=dict(
                    type='BalancedClassSampler',
                    num_classes_per_batch=9,
                    num_samples_per_class=3))))


def test_configure_global_batch(monkeypatch):
    monkeypatch.setenv('WORLD_SIZE', '2')
    cfg = _cfg()  # the class default: global_batch=True
    assert configure_global_batch(cfg)
    assert cfg.train_dataloader.sampler.global_batch
    assert cfg.train_dataloader.batch_sampler == dict(
        type='GlobalBatchSampler')
    for cfg in (_cfg(global_batch=False), _cfg()):
        if cfg.model.get('global_batch') is None:
            cfg.launcher = 'none'  # one process
        assert not configure_global_batch(cfg)
        assert 'batch_sampler' not in cfg.train_dataloader
    cfg = _cfg()
    cfg.train_dataloader.sampler = dict(type='DefaultSampler')
    with pytest.raises(ValueError, match='needs'):
        configure_global_batch(cfg)
    cfg = _cfg(global_batch=False)
    cfg.train_dataloader.sampler.global_batch = True
    with pytest.raises(ValueError, match='sampler follows'):
        configure_global_batch(cfg)
    cfg = _cfg(global_batch=True)
    cfg.model.type = 'ImageClassifier'  # mmpretrain's: cannot gather
    with pytest.raises(ValueError, match='cannot gather'):
        configure_global_batch(cfg)
