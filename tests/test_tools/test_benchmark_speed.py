"""tools/analysis_tools/benchmark_speed.py (Table 7), benchmarks/train_step.py
and the timing core benchmarks/speed_core.py."""
import csv
import json
import os.path as osp

import pytest
import torch
from helpers import REPO, config_path, load_benchmark, load_tool

speed = load_benchmark('speed_core')
tool = load_tool('analysis_tools/benchmark_speed.py')
SYNTHETIC = config_path('gcahng/r18_pa_synthetic.py')


@pytest.fixture
def one_thread():
    """The tools set torch's (process-wide) thread count: restore it. One
    thread also keeps tiny ops fast on a loaded machine."""
    threads = torch.get_num_threads()
    yield ['--threads', '1']
    torch.set_num_threads(threads)


def test_benchmark_speed_writes_table_files(tmp_path, capsys, one_thread):
    out = str(tmp_path / 'speed')
    summary = tool.main([
        SYNTHETIC, '--img-size', '16', '--iters', '1', '--warmup', '1',
        '--device', 'cpu', '--out-dir', out
    ] + one_thread)
    printed = capsys.readouterr().out
    assert '| Method | Training (s/iter) |' in printed
    assert '| Baseline |' in printed and '| GCA-HNG |' in printed

    with open(osp.join(out, 'speed.csv')) as f:
        rows = list(csv.DictReader(f))
    assert [r['method'] for r in rows] == ['Baseline', 'GCA-HNG']
    for row in rows:
        assert float(row['train_s_per_iter']) > 0
        assert float(row['infer_s_per_batch']) > 0
    assert float(rows[0]['train_ratio']) == pytest.approx(1.0)
    assert float(rows[1]['train_ratio']) == pytest.approx(
        float(rows[1]['train_s_per_iter']) /
        float(rows[0]['train_s_per_iter']))

    with open(osp.join(out, 'speed.json')) as f:
        data = json.load(f)
    assert data['settings']['batch_size'] == 48  # 16 x 3
    assert data['settings']['img_size'] == 16
    assert data['settings']['baseline'].endswith(
        osp.join('baselines', 'r18_pa_synthetic.py'))
    assert data['gcahng']['model'] == 'GCAHNG'
    assert data['baseline']['model'] == 'DMLRetriever'
    assert data['summary']['hng_overhead'] == pytest.approx(
        float(rows[1]['train_ratio']), rel=1e-6)
    assert data['summary']['hng_s'] is not None
    assert summary['rows'][1]['method'] == 'GCA-HNG'
    assert open(osp.join(out, 'speed.md')).read().count('|') > 10


def test_timing_core_helpers():
    assert speed.baseline_twin('configs/gcahng/r50_pa_cub.py') == osp.join(
        'configs', 'baselines', 'r50_pa_cub.py')
    with pytest.raises(ValueError):
        speed.baseline_twin('configs/baselines/r50_pa_cub.py')
    cfg = speed.load_config(SYNTHETIC)
    assert speed.batch_layout(cfg) == (16, 3)
    assert speed.train_img_size(cfg) == 56
    data = speed.synthetic_batch(4, 3, 8, class_pool=10, seed=1)
    labels = [int(ds.gt_label) for ds in data['data_samples']]
    assert labels[:4] * 3 == labels and len(set(labels)) == 4  # group order
    assert data['inputs'].shape == (12, 3, 8, 8)
    assert data['inputs'].dtype == torch.uint8


def test_pretrained_weights_are_switched_off():
    path = config_path('gcahng/r50_pa_cub.py')
    if not osp.exists(path):
        pytest.skip('R50 config grid not present')
    cfg = speed.load_config(path)
    backbone = cfg.model.backbone
    assert backbone.get('pretrained') is None
    assert backbone.get('init_cfg') is None


def test_train_step_benchmark_last_line(capsys, one_thread):
    bench = load_tool_from(osp.join(REPO, 'benchmarks', 'train_step.py'))
    bench.main([
        SYNTHETIC, '--img-size', '16', '--iters', '1', '--warmup', '0',
        '--device', 'cpu', '--no-inference'
    ] + one_thread)
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith('RESULT hng_overhead=')
    assert float(lines[-1].split('=')[1]) > 0


def load_tool_from(path: str):
    import importlib.util
    spec = importlib.util.spec_from_file_location('bench_train_step', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
