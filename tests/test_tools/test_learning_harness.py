"""benchmarks/learning.py: run configs, read their final metrics, compare
with the baseline (the training itself is tools/train.py, tested
elsewhere; here one real tiny run goes through the harness)."""
import importlib.util
import json
import os
import os.path as osp
import time

import pytest
from helpers import REPO, tiny_synthetic_cfg
from mmengine.config import Config


def harness():
    path = osp.join(REPO, 'benchmarks', 'learning.py')
    spec = importlib.util.spec_from_file_location('bench_learning', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_prepare_config_applies_seed_regime_and_dev_split(tmp_path):
    learning = harness()
    icons = learning.BENCHMARKS['icons']
    run = learning.Run('hng', 'configs/gcahng/r18_pa_icons.py',
                       {'model.syn_grad': 'all'})
    path = learning.prepare_config(run, str(tmp_path / 'w'), 3, icons, True,
                                   '/ckpt.pth')
    cfg = Config.fromfile(path)
    assert cfg.randomness.seed == 3
    assert cfg.model.syn_grad == 'all'  # the run's options are applied
    for key in ('train_dataloader', 'test_dataloader'):
        assert cfg[key].dataset.data_root == icons.dev_root
    assert cfg.model.loss_metric.num_classes == icons.dev_train_classes
    assert cfg.model.graph_head.num_classes == icons.dev_train_classes
    assert cfg.model.backbone.init_cfg == dict(
        type='Pretrained', checkpoint='/ckpt.pth', prefix='backbone')
    # the test split of another benchmark, from scratch; a loss without
    # classes (NP+) keeps its arguments
    widelands = learning.BENCHMARKS['widelands']
    run = learning.Run('base', 'configs/baselines/r18_npplus_widelands.py', {})
    cfg = Config.fromfile(
        learning.prepare_config(run, str(tmp_path / 'n'), 0, widelands, False,
                                None))
    assert cfg.train_dataloader.dataset.data_root == widelands.data_root
    assert 'num_classes' not in cfg.model.loss_metric
    assert cfg.model.backbone.get('init_cfg') is None


def test_benchmark_of_names_the_benchmark_or_stops():
    learning = harness()
    assert learning.benchmark_of('configs/gcahng/r18_pa_icons.py') == 'icons'
    assert learning.benchmark_of(
        'configs/baselines/r18_pa_widelands.py') == 'widelands'
    try:
        learning.benchmark_of('configs/gcahng/r18_pa_synthetic.py')
    except SystemExit as e:
        assert 'not on a benchmark' in str(e)
    else:
        raise AssertionError('the built-in dataset is not a benchmark')


def test_variant_options_and_loss():
    learning = harness()
    run, loss = learning.parse_variant('pair@PA:model.syn_grad=all;a.b=2')
    assert (run.name, loss) == ('pair', 'PA')
    assert run.options == {'model.syn_grad': 'all', 'a.b': 2}
    run, loss = learning.parse_variant('x:model.beta=0.5')
    assert loss is None and run.options == {'model.beta': 0.5}
    assert run.config == ''
    # base/: on top of the baseline config (the XBM baseline)
    run, loss = learning.parse_variant(
        'base/xbm@NP+:model.memory.size=324;model.memory.graph=False')
    assert (run.name, loss, run.config) == ('xbm', 'NP+', learning.ON_BASELINE)
    assert run.options == {
        'model.memory.size': 324,
        'model.memory.graph': False
    }


def test_one_tiny_run_through_the_harness(tmp_path):
    learning = harness()
    cfg = tiny_synthetic_cfg('gcahng/r18_pa_synthetic.py', 'unused')
    cfg.model.graph_head.update(num_layers=1, num_heads=2)
    cfg_file = str(tmp_path / 'tiny.py')
    cfg.dump(cfg_file)
    out = str(tmp_path / 'out')
    bench = learning.BENCHMARKS['icons']
    run = learning.Run('tiny', cfg_file, {})
    metrics = learning.train_one(run, 0, out, bench, False, None, 1)
    for key in ('R@1', 'RP', 'M@R', 'gce_acc', 'loss_gce', 'minutes'):
        assert key in metrics, key
    done = osp.join(out, 'tiny', 'seed0', 'metrics.json')
    assert json.load(open(done))['R@1'] == metrics['R@1']
    log = osp.join(out, 'tiny', 'seed0', 'train.log')
    stamp = os.stat(log).st_mtime_ns
    # a finished run is read back, not trained again
    assert learning.train_one(run, 0, out, bench, False, None, 1) == metrics
    assert os.stat(log).st_mtime_ns == stamp
    # ... unless the run's settings changed since: then it is redone
    run = run._replace(options={'train_cfg.max_epochs': 2})
    learning.train_one(run, 0, out, bench, False, None, 1)
    assert os.stat(log).st_mtime_ns != stamp
    assert Config.fromfile(osp.join(out, 'tiny', 'seed0',
                                    'config.py')).train_cfg.max_epochs == 2


def test_table_gives_paired_gains():
    learning = harness()
    res = {
        'base': {
            s: {
                'R@1': 10.0 + s,
                'RP': 1.0,
                'M@R': 2.0
            }
            for s in (0, 1)
        },
        'hng': {
            s: {
                'R@1': 13.0 + 2 * s,
                'RP': 1.5,
                'M@R': 3.0,
                'gce_acc': 0.5
            }
            for s in (0, 1)
        },
    }
    text = learning.table(['base', 'hng'], [0, 1], res)
    row = [r for r in text.splitlines() if r.startswith('| hng')][0]
    cells = [c.strip() for c in row.strip('|').split('|')]
    assert cells[2] == '14.0 ± 1.4'  # R@1 13, 15
    assert cells[5] == '3.5 ± 0.7'  # paired gains 3, 4
    assert cells[6] == '1.0 ± 0.0'
    assert cells[7] == '0.50'


def test_results_of_parts_of_the_suite_add_up(tmp_path):
    learning = harness()
    path = str(tmp_path / 'r' / 'results.json')
    row = {0: {'R@1': 1.0}}
    learning.write_results(path, [0], False,
                           {'icons': {
                               'scratch': {
                                   'PA': {
                                       'baseline': row
                                   }
                               }
                           }})
    learning.write_results(
        path, [0], False, {
            'icons': {
                'scratch': {
                    'PA': {
                        'x': row
                    }
                }
            },
            'widelands': {
                'scratch': {
                    'NP+': {
                        'baseline': row
                    }
                }
            }
        })
    results = json.load(open(path))['results']
    assert set(results['icons']['scratch']['PA']) == {'baseline', 'x'}
    assert results['widelands']['scratch']['NP+']['baseline'] == {
        '0': {
            'R@1': 1.0
        }
    }
    # other seeds: the file is replaced, not mixed
    learning.write_results(path, [0, 1], False,
                           {'icons': {
                               'pretrained': {
                                   'PA': {
                                       'b': row
                                   }
                               }
                           }})
    assert list(json.load(open(path))['results']) == ['icons']
    assert list(json.load(open(path))['results']['icons']) == ['pretrained']


def test_pretrained_checkpoint_survives_a_moved_checkout(
        tmp_path, monkeypatch):
    """MMEngine's last_checkpoint names the path the run had when it was
    written; the harness reads only the file's name, so a checkout moved
    elsewhere (or a worktree sharing its work_dirs) still finds it, and
    names it relative to the repository when it lies inside it (configs,
    and so the run cache, do not depend on where the checkout lies)."""
    learning = harness()
    run_dir = tmp_path / 'work_dirs' / 'pretrain' / 'seed0'
    run_dir.mkdir(parents=True)
    (run_dir / 'epoch_30.pth').write_bytes(b'')
    (run_dir / 'last_checkpoint'
     ).write_text('/elsewhere/work_dirs/pretrain/seed0/epoch_30.pth')
    found = learning.pretrained_checkpoint(str(tmp_path / 'work_dirs'))
    assert found == str(run_dir / 'epoch_30.pth')
    monkeypatch.setattr(learning, 'REPO', str(tmp_path))
    assert learning.pretrained_checkpoint(str(
        tmp_path / 'work_dirs')) == 'work_dirs/pretrain/seed0/epoch_30.pth'


def test_a_failed_run_stops_the_queue(monkeypatch):
    """The first failure is raised at once: the queued runs are cancelled,
    not trained before the error shows."""
    learning = harness()
    started = []

    def fake_train_one(run, seed, *args):
        started.append(seed)
        time.sleep(0.2)
        if seed == 0:
            raise RuntimeError('run 0 failed')
        return {'R@1': 1.0, 'M@R': 1.0}

    monkeypatch.setattr(learning, 'train_one', fake_train_one)
    jobs = [(learning.Run('x', '', {}), seed, 'folder') for seed in range(6)]
    with pytest.raises(RuntimeError, match='run 0 failed'):
        learning.run_all(jobs, 1)
    assert len(started) <= 2
