"""benchmarks/memory_scaling.py as a process on tiny settings: its RESULT
lines (docs/algorithm.md §10)."""
import re
import sys

from helpers import REPO, run


def test_memory_scaling_reports_results():
    out = run([
        sys.executable, f'{REPO}/benchmarks/memory_scaling.py',
        f'{REPO}/configs/gcahng/r18_pa_synthetic.py', '--small', '--batch',
        '2', '2', '--sizes', '0', '4', '--iters', '1', '--warmup', '1'
    ]).stdout
    results = dict(re.findall(r'^RESULT (\S+)=(\S+)$', out, re.M))
    for k in (0, 4, 16):  # 16 = 4B, always measured
        for name in ('graph_head_time', 'graph_head_peak_mem', 'step_time',
                     'step_peak_mem'):
            assert f'{name}_k{k}' in results, (name, k, out)
        assert float(results[f'step_time_k{k}']) > 0
    for name in ('graph_head_fit_r2', 'step_fit_r2', 'step_fit_slope'):
        assert name in results
    last = out.rstrip().splitlines()[-1]
    assert last.startswith('RESULT memory_overhead_4B=')
    assert float(results['memory_overhead_4B']) > 0


def test_linear_fit():
    from helpers import load_benchmark
    bench = load_benchmark('memory_scaling')
    a, b, r2 = bench.linear_fit([0, 1, 2, 4], [1.0, 3.0, 5.0, 9.0])
    assert (a, b, r2) == (1.0, 2.0, 1.0)
    args = bench.parse_args(['--small'])
    assert args.img_size == 32 and args.iters == 2
