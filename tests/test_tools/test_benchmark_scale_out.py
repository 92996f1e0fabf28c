"""benchmarks/scale_out.py on a tiny config: its RESULT lines, and the
gather costs one all-gather of the B x D embeddings per step."""
import re
import sys

from helpers import REPO, run
from test_global_batch import tiny_cfg


def test_scale_out_reports_results(tmp_path):
    cfg = tiny_cfg('pa', 'trained_bn', str(tmp_path))
    path = str(tmp_path / 'cfg.py')
    cfg.dump(path)
    out = run([
        sys.executable, f'{REPO}/benchmarks/scale_out.py', path,
        '--world-sizes', '1', '2', '--iters', '1', '--warmup', '1',
        '--graph-batches', '6', '12'
    ]).stdout
    results = dict(re.findall(r'^RESULT (\S+)=(\S+)$', out, re.M))
    assert results['feature_gathers_per_step_w2'] == '1'
    assert results['feature_gathers_per_step_w1'] == '0'
    assert 0.0 < float(results['comm_share_w2']) < 1.0
    assert float(results['scale_efficiency']) > 0.0
    assert {
        'graph_head_time_b6', 'graph_head_time_b12', 'graph_head_peak_mem_b12'
    } <= results.keys()
    assert out.rstrip().splitlines()[-1].startswith('RESULT scale_efficiency=')
