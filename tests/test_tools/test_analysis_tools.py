"""The analysis tools of ``tools/analysis_tools`` on a tiny trained run.

One GCA-HNG model is trained for one epoch on the built-in dataset (32 px,
4+4 classes of 4 images, batches of 4x2) and tested with tools/test.py; a
baseline checkpoint is cut out of it (the metric model's weights only).
Each tool then runs in-process through its ``main(argv)``.
"""
import csv
import json
import math
import os.path as osp
import sys

import numpy as np
import pytest
import torch
from helpers import load_tool, tiny_synthetic_cfg
from mmengine.runner import Runner
from PIL import Image

import gcahng  # noqa: F401
from gcahng.apis import builders as analysis
from gcahng.evaluation import per_query_retrieval, retrieval_metrics
from gcahng.utils import CheckpointMismatchError
from gcahng.visualization.figures import to_rgb_uint8

TOOLS = {
    name: load_tool(f'analysis_tools/{name}.py')
    for name in ('visualize_embeddings', 'visualize_retrieval',
                 'feature_spread', 'collect_results')
}
paper_result = TOOLS['collect_results'].paper_result
parse_config_name = TOOLS['collect_results'].parse_config_name
PER_CLASS = 4
TRAIN_CLASSES = 4


def read_csv(path):
    with open(path, newline='') as f:
        return list(csv.DictReader(f))


def check_png(path, min_side=100):
    assert osp.isfile(path), path
    with Image.open(path) as img:
        img.load()
        w, h = img.size
    assert min_side <= w <= 8000 and min_side <= h <= 8000, (w, h)


@pytest.fixture(scope='module')
def run(tmp_path_factory):
    """Configs, checkpoints and work dirs of the tiny runs."""
    root = tmp_path_factory.mktemp('analysis')
    work_g = str(root / 'gcahng_run')
    cfg = tiny_synthetic_cfg(
        'gcahng/r18_pa_synthetic.py',
        work_g,
        max_epochs=1,
        train_classes=TRAIN_CLASSES,
        per_class=PER_CLASS)
    cfg.model.graph_head.update(num_layers=1, num_heads=2)
    cfg.experiment_name = 'analysis_tools_gcahng'
    cfg_g = str(root / 'tiny_gcahng.py')
    cfg.dump(cfg_g)
    Runner.from_cfg(cfg).train()
    ckpt_g = osp.join(work_g, 'epoch_1.pth')

    test_json = osp.join(work_g, 'test_metrics.json')
    argv = sys.argv
    sys.argv = [
        'test.py', cfg_g, ckpt_g, '--work-dir', work_g, '--out', test_json,
        '--cfg-options', 'experiment_name=analysis_tools_test'
    ]
    try:
        load_tool('test.py').main()
    finally:
        sys.argv = argv

    cfg_b = tiny_synthetic_cfg(
        'baselines/r18_pa_synthetic.py',
        str(root / 'baseline_run'),
        train_classes=TRAIN_CLASSES,
        per_class=PER_CLASS)
    cfg_b_path = str(root / 'tiny_baseline.py')
    cfg_b.dump(cfg_b_path)
    baseline = analysis.build_model(
        analysis.load_config(cfg_b_path), device='cpu')
    state = torch.load(ckpt_g, map_location='cpu')['state_dict']
    ckpt_b = str(root / 'baseline.pth')
    torch.save(
        dict(meta={}, state_dict={k: state[k]
                                  for k in baseline.state_dict()}), ckpt_b)
    return dict(
        root=root,
        cfg_g=cfg_g,
        ckpt_g=ckpt_g,
        work_g=work_g,
        test_json=test_json,
        cfg_b=cfg_b_path,
        ckpt_b=ckpt_b,
        state_g=state)


@pytest.mark.parametrize('name', sorted(TOOLS))
def test_help(name, capsys):
    with pytest.raises(SystemExit) as exc:
        TOOLS[name].main(['--help'])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert 'usage:' in out and '--out-dir' in out


def test_paper_results():
    r = paper_result('configs/gcahng/r50_pa_cub.py')
    assert (r['R@1'], r['RP'], r['M@R']) == (72.3, 40.7, 30.1)
    assert r['setting'] == 'R512 PA' and r['method'] == 'gcahng'
    assert paper_result('dino-s16_npplus_inshop')['M@R'] == 70.1
    assert paper_result('googlenet_np_sop')['R@1'] == 75.8
    b = paper_result('configs/baselines/r50_npplus_cars196.py')
    assert b == {**b, 'method': 'baseline', 'R@1': 84.8} and 'RP' not in b
    assert paper_result('r50_pa_sop', method='baseline')['R@1'] == 80.6
    assert paper_result('configs/baselines/googlenet_pa_cub.py') is None
    assert paper_result('r50_np_cub') is None  # R512 NP: not in the paper
    assert paper_result('r18_pa_synthetic') is None
    assert parse_config_name('gcahng/r50_npplus_sop') == ('gcahng', 'R512',
                                                          'NP+', 'sop')


def test_per_query_retrieval_matches_metric():
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(60, 8)).astype(np.float32)
    labels = rng.integers(0, 6, 60)
    for args in [(emb, labels),
                 (emb[:20], labels[:20], emb[20:], labels[20:])]:
        res = per_query_retrieval(*args, topk=3)
        ref = retrieval_metrics(*args, ks=(1, 3))
        hit = res['first_hit']
        assert np.mean((hit >= 1) & (hit <= 1)) * 100 == pytest.approx(
            ref['R@1'])
        assert np.mean((hit >= 1) & (hit <= 3)) * 100 == pytest.approx(
            ref['R@3'])
        assert res['correct'][:, 0].mean() * 100 == pytest.approx(ref['R@1'])
        assert np.nanmean(res['ap']) == pytest.approx(ref['M@R'])
        assert np.nanmean(res['rp']) == pytest.approx(ref['RP'])
    loo = per_query_retrieval(emb, labels, topk=5)
    assert not (loo['indices'] == np.arange(60)[:, None]).any()


def test_to_rgb_uint8():
    img = np.random.default_rng(0).integers(0, 256, (5, 6, 3), np.uint8)
    assert np.array_equal(to_rgb_uint8(img), img[..., ::-1])


def test_visualize_embeddings(run, tmp_path):
    out = str(tmp_path / 'emb')
    summary = TOOLS['visualize_embeddings'].main([
        run['cfg_g'], run['ckpt_g'], '--num-classes', '3', '--out-dir', out,
        '--batch-classes', '0'
    ])
    for name in ('test_tsne.png', 'batch_tsne.png'):
        check_png(osp.join(out, name))
    test_rows = read_csv(osp.join(out, 'test_tsne.csv'))
    assert len(test_rows) == 3 * PER_CLASS
    assert sorted({int(r['label']) for r in test_rows}) == [0, 1, 2]
    assert all(math.isfinite(float(r['x'])) for r in test_rows)

    rows = read_csv(osp.join(out, 'batch_tsne.csv'))
    n, m = 4, 2  # the tiny config's N x M
    real = [r for r in rows if r['kind'] == 'real']
    synthetic = [r for r in rows if r['kind'] == 'synthetic']
    assert len(real) == n * m and len(synthetic) == m * n * (n - 1)
    assert all(r['label'] != r['anchor_label'] for r in synthetic)
    assert {r['label'] for r in real} == {r['anchor_label'] for r in synthetic}
    batch = json.load(open(osp.join(out, 'summary.json')))['batch']
    assert (batch['num_real'], batch['num_synthetic']) == (len(real),
                                                           len(synthetic))
    # η of the checkpoint: exp(-α / J̄_m) with J̄_m saved after epoch 1
    alpha = 5.0
    eta = math.exp(-alpha / float(run['state_g']['avg_metric_loss']))
    assert batch['eta'] == pytest.approx(eta) and eta < 1
    assert summary['batch']['mean_cos_anchor_synthetic'] <= 1 + 1e-6

    # a baseline checkpoint: test plot only, with a note
    out_b = str(tmp_path / 'emb_b')
    summary = TOOLS['visualize_embeddings'].main([
        run['cfg_b'], run['ckpt_b'], '--classes', '1', '3', '--out-dir', out_b
    ])
    check_png(osp.join(out_b, 'test_tsne.png'))
    assert not osp.exists(osp.join(out_b, 'batch_tsne.png'))
    assert 'note' in summary and 'batch' not in summary
    assert {
        int(r['label'])
        for r in read_csv(osp.join(out_b, 'test_tsne.csv'))
    } == {1, 3}


def test_visualize_retrieval(run, tmp_path, monkeypatch):
    tool = TOOLS['visualize_retrieval']
    out = str(tmp_path / 'ret')
    result = tool.main([
        run['cfg_g'], run['ckpt_g'], '--compare', run['cfg_b'], run['ckpt_b'],
        '--worst', '3', '--topk', '4', '--out-dir', out, '--names', 'GCA-HNG',
        'baseline'
    ])
    check_png(osp.join(out, 'retrieval.png'), min_side=300)
    rows = read_csv(osp.join(out, 'retrieval.csv'))
    assert len(rows) == 3 * 2 * 4
    labels = np.repeat(np.arange(TRAIN_CLASSES), PER_CLASS)  # test labels
    for r in rows:
        q, g = int(r['query_index']), int(r['gallery_index'])
        assert q != g  # leave-one-out by index
        assert int(r['query_label']) == labels[q]
        assert int(r['gallery_label']) == labels[g]
        assert int(r['correct']) == int(labels[q] == labels[g])
    # the metrics over the whole test set are those of tools/test.py
    tested = json.load(open(run['test_json']))
    metrics = result['models'][0]['metrics']
    for key in ('R@1', 'R@2', 'RP', 'M@R'):
        assert metrics[key] == pytest.approx(tested[f'retrieval/{key}'])
    aps = [q['ap'] for q in result['models'][0]['queries']]
    assert aps == sorted(aps)
    saved = json.load(open(osp.join(out, 'retrieval.json')))
    assert saved['mode'] == 'leave_one_out' and saved['topk'] == 4

    # chosen queries, query -> gallery mode (the first half are queries)
    mask = np.arange(len(labels)) < len(labels) // 2
    monkeypatch.setattr(tool, 'query_mask', lambda dataset: mask)
    result = tool.main([
        run['cfg_g'], run['ckpt_g'], '--queries', '0', '5', '--topk', '3',
        '--out-dir',
        str(tmp_path / 'qg')
    ])
    assert result['mode'] == 'query_gallery'
    queries = result['models'][0]['queries']
    assert [q['index'] for q in queries] == [0, 5]
    assert all(n >= len(labels) // 2 for q in queries for n in q['neighbours'])
    with pytest.raises(analysis.AnalysisError, match='not query indices'):
        tool.main([run['cfg_g'], run['ckpt_g'], '--queries', '12'])


def test_feature_spread(run, tmp_path):
    out = str(tmp_path / 'spread')
    summary = TOOLS['feature_spread'].main([
        run['cfg_g'], run['ckpt_g'], '--pooling', 'avg', 'max', 'avgmax',
        '--num-samples', '10', '--out-dir', out, '--plot', 'violin'
    ])
    for name in ('spread.png', 'channels.png'):
        check_png(osp.join(out, name))
    rows = read_csv(osp.join(out, 'channel_stats.csv'))
    assert len(rows) == 3 * 512
    by = {(r['pooling'], int(r['channel'])): r for r in rows}
    for c in range(0, 512, 37):
        mean = {p: float(by[(p, c)]['mean']) for p in ('avg', 'max', 'avgmax')}
        assert mean['avgmax'] == pytest.approx(
            mean['avg'] + mean['max'], abs=1e-5)
        assert mean['max'] >= mean['avg'] - 1e-6
        assert by[('avgmax', c)]['bn_running_mean'] != ''  # the neck's own
    assert summary['num_samples'] == 10
    assert set(summary['poolings']) == {'avg', 'max', 'avgmax'}

    # no checkpoint: initial weights, the neck's own pooling
    summary = TOOLS['feature_spread'].main([
        run['cfg_g'], '--num-samples', '4', '--out-dir',
        str(tmp_path / 'init')
    ])
    assert list(summary['poolings']) == ['avgmax']


def test_collect_results(run, tmp_path):
    from mmengine.config import Config
    tested = json.load(open(run['test_json']))
    # runs named like paper settings: a GCA-HNG and a baseline config
    fakes = {}
    for kind, cfg_path, r1 in (('gcahng', run['cfg_g'], 70.0),
                               ('baselines', run['cfg_b'], 60.0)):
        work = tmp_path / kind / 'r50_pa_cub'
        work.mkdir(parents=True)
        Config.fromfile(cfg_path).dump(str(work / 'r50_pa_cub.py'))
        json.dump(
            {
                'retrieval/R@1': r1,
                'retrieval/RP': 30.0,
                'retrieval/M@R': 20.0
            }, open(work / 'test_metrics.json', 'w'))
        fakes[kind] = str(work)

    out = str(tmp_path / 'collect')
    result = TOOLS['collect_results'].main(
        [run['work_g'], fakes['gcahng'], fakes['baselines'], '--out-dir', out])
    check_png(osp.join(out, 'results.png'))
    rows = {r['work_dir']: r for r in result['rows']}
    ours = rows[run['work_g']]
    assert ours['source'] == 'test' and ours['method'] == 'gcahng'
    for key in ('R@1', 'R@8', 'RP', 'M@R'):
        assert ours['metrics'][key] == tested[f'retrieval/{key}']
    assert ours['paper'] is None
    g, b = rows[fakes['gcahng']], rows[fakes['baselines']]
    assert (g['method'], g['paper']['R@1'], g['paper']['M@R']) == ('gcahng',
                                                                   72.3, 30.1)
    assert (b['method'], b['paper']['R@1']) == ('baseline', 68.5)

    table = open(osp.join(out, 'results.md')).read()
    lines = [line for line in table.splitlines() if line.startswith('|')]
    header = [c.strip() for c in lines[0].strip('|').split('|')]
    assert len(lines) == 2 + 3
    cells = {}
    for line in lines[2:]:
        row = [c.strip() for c in line.strip('|').split('|')]
        cells[row[0]] = dict(zip(header, row))
    assert float(cells['gcahng_run']['R@1']) == pytest.approx(
        tested['retrieval/R@1'], abs=0.005)
    assert cells['gcahng/r50_pa_cub']['Paper R@1'] == '72.3'
    assert cells['gcahng/r50_pa_cub']['ΔR@1'] == '-2.30'
    assert cells['baselines/r50_pa_cub']['Paper RP'] == '–'
    csv_rows = read_csv(osp.join(out, 'results.csv'))
    assert float(csv_rows[0]['R@1']) == pytest.approx(tested['retrieval/R@1'])

    # the last validation of training (same weights as epoch_1.pth)
    val = TOOLS['collect_results'].main(
        [run['work_g'], '--source', 'val', '--out-dir', out])['rows'][0]
    assert val['source'] == 'val@1'
    assert val['metrics']['R@1'] == pytest.approx(tested['retrieval/R@1'])


def test_clear_errors(run, tmp_path):
    vr = TOOLS['visualize_retrieval']
    with pytest.raises(CheckpointMismatchError, match='does not fit'):
        vr.main([run['cfg_b'], run['ckpt_g'], '--out-dir', str(tmp_path)])
    with pytest.raises(CheckpointMismatchError, match='missing'):
        vr.main([run['cfg_g'], run['ckpt_b'], '--out-dir', str(tmp_path)])
    with pytest.raises(FileNotFoundError, match='no checkpoint file'):
        vr.main([run['cfg_g'], str(tmp_path / 'nope.pth')])
    with pytest.raises(analysis.AnalysisError, match='not in the test set'):
        TOOLS['visualize_embeddings'].main(
            [run['cfg_g'], run['ckpt_g'], '--classes', '99'])
    with pytest.raises(analysis.AnalysisError, match='none of the work dirs'):
        TOOLS['collect_results'].main([str(tmp_path)])


def test_optional_tensorboard_backend(tmp_path, monkeypatch):
    from gcahng.registry import VISBACKENDS
    from gcahng.visualization import OptionalTensorboardVisBackend

    # without tensorboard: no error, nothing written
    monkeypatch.setitem(sys.modules, 'torch.utils.tensorboard', None)
    backend = VISBACKENDS.build(
        dict(
            type='OptionalTensorboardVisBackend',
            save_dir=str(tmp_path / 'off')))
    assert isinstance(backend, OptionalTensorboardVisBackend)
    backend.add_scalars({'loss': 1.0}, step=1)
    backend.add_image('img', np.zeros((4, 4, 3), np.uint8))
    backend.close()
    assert backend.available is False
    assert not osp.exists(tmp_path / 'off') or not list(
        (tmp_path / 'off').iterdir())

    # with it: the mmengine backend's calls reach the SummaryWriter
    calls = []

    class FakeWriter:

        def __init__(self, log_dir):
            calls.append(('init', log_dir))

        def add_scalar(self, name, value, step):
            calls.append((name, value, step))

        def close(self):
            calls.append('close')

    fake = type(sys)('torch.utils.tensorboard')
    fake.SummaryWriter = FakeWriter
    monkeypatch.setitem(sys.modules, 'torch.utils.tensorboard', fake)
    backend = OptionalTensorboardVisBackend(str(tmp_path / 'on'))
    backend.add_scalars({'loss': 2.0, 'eta': 0.5}, step=3)
    backend.close()
    assert backend.available is True
    assert calls == [('init', str(tmp_path / 'on')), ('loss', 2.0, 3),
                     ('eta', 0.5, 3), 'close']
