"""Global-batch mode (docs/algorithm.md §9): 2 processes (gloo) sharing one
N x M batch train exactly as 1 process on that batch. The runs build
MMEngine's Runner by hand from the config (tests/global_batch_runs.py): the
config alone sets the global batch."""
import json
import os.path as osp
import sys

import pytest
import torch
from helpers import free_port, run, tiny_synthetic_cfg

from gcahng.utils import safe_torch_load

RUNNER = osp.join(
    osp.dirname(osp.dirname(osp.abspath(__file__))), 'global_batch_runs.py')
N, M = 9, 2  # split 5 / 4 classes over 2 ranks
VARIANTS = [(model, bn) for model in ('np', 'pa', 'baseline')
            for bn in ('frozen_bn2d', 'trained_bn')]


def tiny_cfg(model: str, bn: str, work_dir: str, max_epochs: int = 2):
    """A ResNet-18 of 1/8 width on 14-pixel crops, 16-d embeddings, 9 x 2
    batches, two iterations per epoch, a deterministic pipeline (the random
    augmentations would draw per sample, in a different order on 2 ranks
    than on 1). The runs are in float64 (``global_batch_runs --float64``):
    in float32 the rounding of a conv over 10 images and over 18 differs,
    and 4 updates carry that to ~1e-5 in small parameters."""
    rel = ('baselines' if model == 'baseline' else 'gcahng') + \
        '/r18_pa_synthetic.py'
    cfg = tiny_synthetic_cfg(
        rel,
        work_dir,
        max_epochs=max_epochs,
        train_classes=N,
        per_class=4,
        batch=(N, M),
        size=16,
        random_aug=False)
    model_cfg = cfg.model
    model_cfg.backbone.update(stem_channels=8, base_channels=8)
    model_cfg.neck.update(in_channels=64, out_channels=16)
    model_cfg.loss_metric.embed_dim = 16
    model_cfg.frozen_bn2d = bn == 'frozen_bn2d'
    if 'graph_head' in model_cfg:
        model_cfg.graph_head.update(embed_dim=16, num_layers=1, num_heads=2)
        # the gathering alone (the memory on 2 ranks: test_memory_ranks.py;
        # local mode has no global memory)
        model_cfg.memory = None
    if model == 'np':  # NP+ in the Euclidean geometry of docs/algorithm.md
        model_cfg.loss_metric = dict(type='NPairLoss')
        model_cfg.hng_geometry = 'euclidean'
        model_cfg.loss_syn = dict(type='SyntheticPairLoss')
    # SGD: AdamW's first steps are ±lr for any non-zero gradient, so a
    # parameter whose gradient is zero up to rounding (the edge attention's
    # key bias: a softmax over two tokens ignores it) would move by ±lr on
    # the sign of rounding noise, on 1 process as on 2
    optimizer = dict(type='SGD', lr=1e-2, momentum=0.9)
    if 'constructor' in cfg.optim_wrapper:
        for name in ('metric', 'graph', 'cls'):
            cfg.optim_wrapper[name].optimizer = optimizer
        cfg.optim_wrapper.metric.optimizer = dict(optimizer, lr=1e-3)
    else:
        cfg.optim_wrapper.optimizer = dict(optimizer, lr=1e-3)
    cfg.default_hooks.checkpoint.update(save_best=None, max_keep_ckpts=-1)
    return cfg


def run_all(tmp_path, name: str, runs: list, nproc: int) -> None:
    spec = str(tmp_path / f'{name}.json')
    json.dump(runs, open(spec, 'w'))
    if nproc == 1:
        run([sys.executable, RUNNER, spec, '--float64'])
    else:
        run([
            sys.executable, '-m', 'torch.distributed.run',
            f'--nproc_per_node={nproc}', f'--master_port={free_port()}',
            RUNNER, spec, '--float64'
        ])


def load(work_dir: str, rank: int = 0) -> dict:
    return safe_torch_load(osp.join(work_dir, f'result_rank{rank}.pt'))


@pytest.fixture(scope='module')
def results(tmp_path_factory):
    """All runs: each variant on 1 and on 2 processes, a 2-process control
    with ``model.global_batch=False`` and a 2-process run interrupted
    after its first epoch and resumed."""
    root = tmp_path_factory.mktemp('global_batch')

    def entry(cfg, name, *args):
        path = str(root / f'{name}.py')
        cfg.dump(path)
        return dict(config=path, args=['--no-validate', *args])

    single, double, work = [], [], {}
    for model, bn in VARIANTS:
        for nproc, runs in ((1, single), (2, double)):
            name = f'{model}_{bn}_{nproc}'
            work[name] = str(root / name)
            cfg = tiny_cfg(model, bn, work[name])
            runs.append(
                entry(cfg, name, *(['--launcher', 'pytorch'] * (nproc > 1))))
    work['local_2'] = str(root / 'local_2')
    cfg = tiny_cfg('pa', 'trained_bn', work['local_2'])
    cfg.model.global_batch = False  # and per-rank batches to match
    cfg.train_dataloader.batch_sampler = None
    double.append(entry(cfg, 'local_2', '--launcher', 'pytorch'))
    for name, extra in (('stopped_2', []),
                        ('resumed_2',
                         ['--resume',
                          str(root / 'stopped_2' / 'epoch_1.pth')])):
        work[name] = str(root / name)
        cfg = tiny_cfg('pa', 'trained_bn', work[name])
        double.append(entry(cfg, name, '--launcher', 'pytorch', *extra))
    double[-2]['stop_after_epoch'] = 1
    run_all(root, 'single', single, 1)
    run_all(root, 'double', double, 2)
    return work


def assert_same_losses(ref: list, got: list, rtol: float = 1e-5) -> None:
    """Every logged value of every iteration, to ``rtol`` (the health
    statistics, some near 0, also to 1e-6 absolute)."""
    assert len(got) == len(ref) and ref
    for i, (a, b) in enumerate(zip(ref, got)):
        assert a.keys() == b.keys()
        for key, value in a.items():
            atol = 0.0 if key.startswith('loss') else 1e-6
            assert b[key] == pytest.approx(
                value, rel=rtol, abs=atol), (i, key, value, b[key])


def assert_same_state(ref: dict, got: dict, rtol: float = 1e-5) -> None:
    """Every parameter and buffer to ``rtol`` of the tensor's largest
    entry (plus 1e-7: parameters whose gradient is zero up to rounding,
    e.g. the edge attention's key bias, stay at ~1e-12 on both sides)."""
    assert ref.keys() == got.keys()
    for key, a in ref.items():
        b = got[key]
        if not a.is_floating_point():
            assert torch.equal(a, b), key
            continue
        err = float((a - b).abs().max())
        assert err <= rtol * float(a.abs().max()) + 1e-7, (key, err)


@pytest.mark.parametrize('model,bn', VARIANTS)
def test_two_ranks_train_exactly_as_one(results, model, bn):
    """5 + 4 classes on 2 ranks = the 9-class batch on 1 process: the
    logged losses of all 4 iterations (2 epochs, the second with J̄-driven
    η and ω and a trained backbone) and every parameter and buffer
    afterwards, the same on both ranks."""
    single = load(results[f'{model}_{bn}_1'])
    ranks = [load(results[f'{model}_{bn}_2'], r) for r in (0, 1)]
    assert single['world_size'] == 1 and ranks[0]['world_size'] == 2
    assert len(single['losses']) == 4  # the global batch is not split
    for rank in ranks:
        assert_same_losses(single['losses'], rank['losses'])
        assert_same_state(single['state'], rank['state'])
    assert_same_losses(ranks[0]['losses'], ranks[1]['losses'], rtol=0)
    assert_same_state(ranks[0]['state'], ranks[1]['state'], rtol=0)


def test_local_mode_is_a_different_experiment(results):
    """The control: with ``model.global_batch=False`` (and no
    ``GlobalBatchSampler``) every rank trains a
    9-class batch of its own, so the run departs from the single-process
    one after the first update (and the exactness test would fail if the
    gathering were off)."""
    single = load(results['pa_trained_bn_1'])
    local = load(results['local_2'])
    assert len(local['losses']) == 2  # two local batches per global step
    first, second = single['losses'][1], local['losses'][1]
    assert abs(first['loss_metric'] - second['loss_metric']) > \
        1e-3 * abs(first['loss_metric'])


def test_epoch_means_are_global_and_agree_across_ranks(results):
    """J̄_m and J̄_gen (hence η and ω) are means over the global batches'
    losses: the same buffers on both ranks and on 1 process."""
    single = load(results['pa_trained_bn_1'])
    for rank in (0, 1):
        state = load(results['pa_trained_bn_2'], rank)['state']
        for key in ('avg_metric_loss', 'avg_gen_loss'):
            assert float(state[key]) < 1e5  # set by the hooks
            assert float(state[key]) == pytest.approx(
                float(single['state'][key]), rel=1e-5), key
    losses = single['losses'][2:]  # epoch 2 runs on epoch 1's means
    eta = losses[0]['hardness_eta']
    assert all(r['hardness_eta'] == eta for r in losses) and eta < 0.99


def test_two_process_resume_reproduces_the_uninterrupted_run(results):
    full = load(results['pa_trained_bn_2'])
    stopped = load(results['stopped_2'])
    assert len(stopped['losses']) == 2
    assert_same_losses(full['losses'][:2], stopped['losses'], rtol=0)
    for rank in (0, 1):
        full = load(results['pa_trained_bn_2'], rank)
        resumed = load(results['resumed_2'], rank)
        assert_same_losses(full['losses'][2:], resumed['losses'], rtol=1e-6)
        assert_same_state(full['state'], resumed['state'], rtol=1e-6)
