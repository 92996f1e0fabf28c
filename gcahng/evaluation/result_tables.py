"""Markdown tables of retrieval results over seeds: one home for the
tables that ``benchmarks/learning.py`` prints and that
``tools/analysis_tools/readme_tables.py`` writes into the README.

Results are ``{run: {seed: {metric: value}}}``; a gain is paired by seed
(run minus baseline on the same seed), reported as mean ± sd over seeds.
"""
import statistics
from typing import Dict, List, Sequence, Tuple

#: Results of one run: ``{seed: {metric: value}}``.
SeedResults = Dict[int, Dict[str, float]]
#: A health column: (metric key, column header).
Column = Tuple[str, str]


def mean_sd(values: Sequence[float], digits: int = 1) -> str:
    """``'61.2 ± 0.4'`` (sample sd; 0 for one value), ``'-'`` for none."""
    if not values:
        return '-'
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f'{statistics.mean(values):.{digits}f} ± {sd:.{digits}f}'


def gains(run: SeedResults, base: SeedResults, key: str,
          seeds: Sequence[int]) -> List[float]:
    """``run - base`` of ``key`` on each seed (paired by seed)."""
    return [run[s][key] - base[s][key] for s in seeds]


def health_cells(res: SeedResults, seeds: Sequence[int],
                 keys: Sequence[str]) -> List[str]:
    """The mean over seeds of each of ``keys`` (``'-'`` where no seed has
    it), two decimals."""
    cells = []
    for k in keys:
        vals = [res[s][k] for s in seeds if k in res[s]]
        cells.append(f'{statistics.mean(vals):.2f}' if vals else '-')
    return cells


def _markdown(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    lines += ['| ' + ' | '.join(row) + ' |' for row in rows]
    return '\n'.join(lines)


def runs_table(names: Sequence[str], seeds: Sequence[int],
               results: Dict[str, SeedResults], metrics: Sequence[str],
               health: Sequence[Column]) -> str:
    """Runs of one benchmark and regime, one row each, with their gains
    against the first (the baseline)."""
    base = results[names[0]]
    head = (['run', 'seeds'] + list(metrics) + ['Δ R@1', 'Δ M@R'] +
            [h for _, h in health])
    rows = []
    for name in names:
        res = results[name]
        row = [name, ','.join(str(s) for s in seeds)]
        row += [mean_sd([res[s][k] for s in seeds]) for k in metrics]
        for k in ('R@1', 'M@R'):
            row.append('-' if name ==
                       names[0] else mean_sd(gains(res, base, k, seeds)))
        rows.append(row + health_cells(res, seeds, [k for k, _ in health]))
    return _markdown(head, rows)


def suite_table(results: Dict[str, Dict[str, Dict[str, Dict[str,
                                                            SeedResults]]]],
                seeds: Sequence[int], health: Sequence[Column]) -> str:
    """One row per benchmark x regime x loss x run other than
    ``'baseline'``: the baseline's and the run's R@1 and M@R (mean ± sd),
    the gains paired by seed, and the ``health`` columns.

    Args:
        results: ``{benchmark: {regime: {loss: {run: {seed: metrics}}}}}``,
            every loss with a ``'baseline'`` run.
        seeds: The seeds to average over.
        health: (metric, header) columns after the gains.
    """
    head = [
        'benchmark', 'loss', 'regime', 'run', 'baseline R@1', 'R@1', 'Δ R@1',
        'baseline M@R', 'M@R', 'Δ M@R'
    ] + [h for _, h in health]
    rows = []
    for bench, by_regime in results.items():
        for regime, by_loss in by_regime.items():
            for loss, runs in by_loss.items():
                base = runs['baseline']
                for name, res in runs.items():
                    if name == 'baseline':
                        continue
                    row = [bench, loss, regime, name]
                    for k in ('R@1', 'M@R'):
                        row += [
                            mean_sd([base[s][k] for s in seeds]),
                            mean_sd([res[s][k] for s in seeds]),
                            mean_sd(gains(res, base, k, seeds))
                        ]
                    rows.append(
                        row + health_cells(res, seeds, [k for k, _ in health]))
    return _markdown(head, rows)


__all__ = [
    'mean_sd', 'gains', 'health_cells', 'runs_table', 'suite_table',
    'SeedResults', 'Column'
]
