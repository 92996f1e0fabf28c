"""The memory of docs/algorithm.md §10 under global-batch mode (§9): 2
processes (gloo) hold the same memory on every rank, the gathered global
batch in global order, and train as 1 process does."""
import pytest
import torch
from test_global_batch import assert_same_losses, load, run_all, tiny_cfg

MEMORY = dict(
    gcahng=dict(size=30, topk=4, mining=True, store_nodes=True),
    baseline=dict(size=30, graph=False, mining=True))


@pytest.fixture(scope='module')
def results(tmp_path_factory):
    root = tmp_path_factory.mktemp('memory_ranks')
    work, single, double = {}, [], []
    for model, memory in MEMORY.items():
        for nproc, runs in ((1, single), (2, double)):
            name = f'{model}_{nproc}'
            work[name] = str(root / name)
            cfg = tiny_cfg('pa' if model == 'gcahng' else 'baseline',
                           'trained_bn', work[name])
            cfg.model.memory = memory
            path = str(root / f'{name}.py')
            cfg.dump(path)
            runs.append(
                dict(
                    config=path,
                    args=['--no-validate'] + ['--launcher', 'pytorch'] *
                    (nproc > 1)))
    run_all(root, 'single', single, 1)
    run_all(root, 'double', double, 2)
    return work


@pytest.mark.parametrize('model', list(MEMORY))
def test_every_rank_holds_the_memory_of_one_process(results, model):
    one = load(results[f'{model}_1'])
    ranks = [load(results[f'{model}_2'], r) for r in (0, 1)]
    keys = sorted(k for k in one['state'] if k.startswith('memory.'))
    assert 'memory.feats' in keys and 'memory.labels' in keys
    for k in keys:  # the same memory on every rank, bit for bit
        assert torch.equal(ranks[0]['state'][k], ranks[1]['state'][k]), k
    for k in keys:  # and the single-process one (float64 runs)
        a, b = one['state'][k], ranks[0]['state'][k]
        if a.is_floating_point():
            assert torch.allclose(a, b, rtol=1e-5, atol=1e-7), k
        else:
            assert torch.equal(a, b), k
    # 2 epochs of 2 steps of 18: the 30 entries wrapped
    assert int(one['state']['memory.step']) == 4
    assert int(one['state']['memory.count']) == 30
    assert_same_losses(one['losses'], ranks[0]['losses'])
