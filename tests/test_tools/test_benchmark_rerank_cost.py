"""benchmarks/rerank_cost.py on a tiny problem: one line per re-ranking,
the metric's own figures, and its RESULT line."""
from helpers import load_benchmark

from gcahng.evaluation import retrieval_metrics


def test_rerank_cost(capsys):
    bench = load_benchmark('rerank_cost')
    argv = ['--num', '240', '--classes', '40', '--dim', '16']
    results = bench.main(argv)
    lines = capsys.readouterr().out.strip().splitlines()
    assert list(results) == ['none', 'qe', 'dba', 'k_reciprocal']
    ratio = results['k_reciprocal']['seconds'] / results['none']['seconds']
    assert lines[-1] == f'RESULT kreciprocal_over_exact={ratio:.2f}'
    x, y = load_benchmark('eval_speed').make_problem(bench.parse_args(argv))
    for name, got in results.items():
        ref = retrieval_metrics(x, y, ks=(1, ), rerank=name)
        assert (got['r1'], got['map_r']) == (ref['R@1'], ref['M@R'])
        assert got['peak_mib'] > 0
