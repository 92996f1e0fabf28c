"""Global-batch dealing (docs/algorithm.md §9): every rank loads its share of
one N x M batch; GlobalBatchSampler, the configs' batch sampler, deals it on
several processes and batches plainly in one."""
import numpy as np
import pytest
from mmengine.logging import MessageHub
from test_balanced_sampler import LabelDataset, _labels
from torch.utils.data import BatchSampler

from gcahng.datasets import BalancedClassSampler, GlobalBatchSampler
from gcahng.datasets.samplers import balanced_sampler, global_batch_share


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
    with pytest.raises(TypeError, match='BalancedClassSampler'):
        GlobalBatchSampler(list(range(27)), 27)
    hub = MessageHub.get_instance('test_global_batch_sampler')
    before = dict(hub.runtime_info)
    GlobalBatchSampler(sampler, 27)
    assert hub.runtime_info == before  # writes no runtime state


@pytest.mark.parametrize('world_size', [1, 2])
def test_global_batch_sampler_switches_a_per_rank_sampler(
        monkeypatch, world_size):
    """Built by the Runner from the config, the sampler starts per rank;
    on several processes the batch sampler deals globally, in one process
    it gives exactly the plain batches of a torch BatchSampler."""
    monkeypatch.setattr(balanced_sampler, 'get_dist_info', lambda:
                        (0, world_size))
    dataset = LabelDataset(_labels(20, 7))
    plain = BalancedClassSampler(dataset, 9, 3, seed=3)
    batcher = GlobalBatchSampler(
        BalancedClassSampler(dataset, 9, 3, seed=3), 27)
    assert batcher.deals_globally == (world_size > 1)
    assert batcher.sampler.global_batch == (world_size > 1)
    if world_size == 1:
        assert list(batcher) == list(BatchSampler(plain, 27, False))
    else:
        assert len(batcher) == batcher.sampler.total_batches
        assert all(len(b) == 15 for b in batcher)  # 5 of 9 classes x 3
