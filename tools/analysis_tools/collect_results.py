"""One Markdown table of the results of several runs, next to the paper's.

``python tools/analysis_tools/collect_results.py WORK_DIR [WORK_DIR ...]``

For each work dir the metrics are read from

- test results: a JSON object with ``retrieval/R@K``, ``retrieval/RP`` and
  ``retrieval/M@R`` keys anywhere under the work dir, i.e. what
  ``tools/test.py --out FILE`` writes (``make demo`` uses
  ``<work dir>/test_metrics.json``) or the ``<timestamp>/<timestamp>.json``
  that mmengine's logger writes for a test run; the newest file wins;
- else the last validation of training, the last record with those keys in
  ``<timestamp>/vis_data/scalars.json`` (or an old-style ``*.log.json``) of
  the newest run.

``--source test`` / ``--source val`` use only one kind. The config name and
method (GCA-HNG or baseline) come from the config that mmengine dumps into
the work dir (its file name and ``model.type``); for paper settings
(``{googlenet,r50,dino-s16}_{np,npplus,pa}_{cub,cars196,sop,inshop}``) the
paper's R@1 / RP / M@R are shown next to the run's. They are read from the
OpenMMLab metafiles ``configs/gcahng/metafile.yml`` and
``configs/baselines/metafile.yml``, the one place the repository keeps the
paper's numbers (:func:`paper_results`); ``--paper-table`` prints them as
one Markdown table instead of collecting runs.

Writes ``results.md`` (also printed), ``results.csv``, ``results.json`` and
``results.png`` (R@1 / RP / M@R per run, the paper's as black bars) to
``--out-dir`` (default: ``<work dir>/analysis/collect_results`` for one
work dir, ``<common parent>/collect_results`` for several).
"""
import argparse
import glob
import json
import os
import os.path as osp
import re
import sys
from functools import lru_cache
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import yaml

from gcahng.apis.builders import AnalysisError
from gcahng.utils import run_tool
from gcahng.utils.result_files import write_csv, write_json
from gcahng.visualization.figures import get_pyplot, save_figure

TOOL = 'collect_results'
_METRIC = re.compile(r'^(?:.*/)?(R@\d+|RP|M@R)$')
PAPER_METRICS = ('R@1', 'RP', 'M@R')

#: The repository root (this file is ``tools/analysis_tools/...``).
REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
#: The metafiles with the paper's numbers, relative to :data:`REPO`.
METAFILES: Tuple[str, ...] = ('configs/gcahng/metafile.yml',
                              'configs/baselines/metafile.yml')
#: Config folder -> method: GCA-HNG, or the baseline without hard negative
#: generation.
METHOD_OF_FOLDER: Dict[str, str] = {
    'gcahng': 'gcahng',
    'baselines': 'baseline'
}
METHODS: Tuple[str, ...] = tuple(METHOD_OF_FOLDER.values())
#: Config name prefix -> the paper's architecture name.
ARCHS: Dict[str, str] = {
    'googlenet': 'G512',
    'r50': 'R512',
    'dino-s16': 'DN384'
}
#: Config name loss part -> the paper's loss name.
LOSSES: Dict[str, str] = {'np': 'NP', 'npplus': 'NP+', 'pa': 'PA'}
#: Config name dataset part -> the metafiles' ``Dataset`` (in the order of
#: the paper's columns).
DATASETS: Dict[str, str] = {
    'cub': 'CUB-200-2011',
    'cars196': 'Cars196',
    'sop': 'Stanford Online Products',
    'inshop': 'In-shop Clothes Retrieval',
}
_NAME = re.compile(r'^(?P<arch>googlenet|r50|dino-s16)_(?P<loss>npplus|np|pa)_'
                   r'(?P<dataset>cub|cars196|sop|inshop)$')


def _folder_and_stem(path: str) -> Tuple[str, str]:
    """``('gcahng', 'r50_pa_cub')`` of ``configs/gcahng/r50_pa_cub.py``
    (the folder is ``''`` for a bare name)."""
    parts = str(path).replace('\\', '/').split('/')
    folder = parts[-2] if len(parts) > 1 else ''
    return folder, osp.splitext(parts[-1])[0]


def parse_config_name(
        config_name: str) -> Optional[Tuple[Optional[str], str, str, str]]:
    """Split a paper-setting config name
    (``{googlenet,r50,dino-s16}_{np,npplus,pa}_{cub,cars196,sop,inshop}``).

    Args:
        config_name (str): A path (``configs/gcahng/r50_pa_cub.py``), a
            relative name (``baselines/r50_pa_cub``) or a leaf name
            (``r50_pa_cub``).

    Returns:
        tuple | None: ``(method, arch, loss, dataset)`` in the paper's
        terms (``method`` is ``'gcahng'`` / ``'baseline'`` when the path
        names the ``gcahng`` / ``baselines`` folder, else None), or None
        when the name is not a paper setting.
    """
    folder, stem = _folder_and_stem(config_name)
    match = _NAME.match(stem)
    if match is None:
        return None
    return (METHOD_OF_FOLDER.get(folder), ARCHS[match['arch']],
            LOSSES[match['loss']], match['dataset'])


def read_metafile(path: str) -> List[dict]:
    """The entries of one OpenMMLab metafile (``Collections`` / ``Models``).

    Each ``Models`` item names its ``Config`` (relative to the repository
    root, in ``configs/gcahng/`` or ``configs/baselines/``), its paper
    setting (``Metadata.Setting``, e.g. ``R512 PA``) and its ``Results``
    (one ``Dataset``, ``Metrics`` in percent); the ``Paper`` of its
    collection is the source.

    Args:
        path (str): The metafile.

    Returns:
        list[dict]: One dict per model: ``name``, ``config``, ``method``,
        ``setting``, ``dataset`` (the metafile's name of it), ``metrics``
        and ``source``.

    Raises:
        ValueError: An entry without ``Name``, ``Config``,
            ``Metadata.Setting`` or numeric metrics of one dataset, or with
            a config outside those two folders; the message names the file
            and the entry.
    """
    with open(path) as f:
        meta = yaml.safe_load(f) or {}
    rel = osp.relpath(path, REPO).replace(os.sep, '/')
    sources = {}
    for coll in meta.get('Collections') or []:
        paper = coll.get('Paper') or {}
        parts = [paper.get('Title'), paper.get('Venue')]
        if paper.get('Tables'):
            parts.append(f'Tables {paper["Tables"]}')
        sources[coll.get('Name')] = ', '.join(
            str(p) for p in parts if p) + f' ({rel})'
    entries = []
    for model in meta.get('Models') or []:
        name = model.get('Name')
        config = model.get('Config')
        setting = (model.get('Metadata') or {}).get('Setting')
        where = f'{rel}: model {name!r}'
        if not (name and config and setting):
            raise ValueError(f'{where}: needs Name, Config and '
                             'Metadata.Setting')
        method = METHOD_OF_FOLDER.get(_folder_and_stem(config)[0])
        if method is None:
            raise ValueError(f'{where}: Config {config} is in neither '
                             'configs/gcahng/ nor configs/baselines/')
        metrics, datasets = {}, set()
        for result in model.get('Results') or []:
            datasets.add(result.get('Dataset'))
            for key, value in (result.get('Metrics') or {}).items():
                number = isinstance(value, (int, float))
                if not number or isinstance(value, bool):
                    raise ValueError(
                        f'{where}: metric {key} is not a number: {value!r}')
                metrics[str(key)] = float(value)
        if not metrics or len(datasets) != 1 or None in datasets:
            raise ValueError(f'{where}: needs Results on one Dataset with '
                             'Metrics')
        entries.append(
            dict(
                name=name,
                config=config,
                method=method,
                setting=str(setting),
                dataset=datasets.pop(),
                metrics=metrics,
                source=sources.get(model.get('In Collection'), rel)))
    return entries


@lru_cache(maxsize=None)
def paper_results(
        metafiles: Tuple[str, ...] = METAFILES) -> Dict[Tuple[str, str], dict]:
    """Every metafile entry, keyed by ``(method, config name)``.

    Args:
        metafiles (tuple[str]): Metafile paths, relative to the repository
            root (or absolute).

    Returns:
        dict: ``(method, config file stem)`` -> entry of
        :func:`read_metafile`.

    Raises:
        ValueError: Two entries for one config.
    """
    out: Dict[Tuple[str, str], dict] = {}
    for path in metafiles:
        for entry in read_metafile(osp.join(REPO, path)):
            key = (entry['method'], _folder_and_stem(entry['config'])[1])
            if key in out:
                raise ValueError(f'{path}: a second entry for '
                                 f'{entry["config"]} ({entry["name"]})')
            out[key] = entry
    return out


def paper_result(config_name: str,
                 method: Optional[str] = None) -> Optional[dict]:
    """The paper's numbers for a config, or None if it reports none.

    Args:
        config_name (str): See :func:`parse_config_name`.
        method (str, optional): ``'gcahng'`` or ``'baseline'``; overrides
            the method implied by the config's folder. Leaf names without a
            folder default to ``'gcahng'`` (a run's work dir only keeps the
            leaf name; tell a baseline run by its model type).

    Returns:
        dict | None: ``method``, ``setting`` (e.g. ``'R512 PA'``), ``arch``,
        ``loss``, ``dataset`` (``'cub'``, ...), ``source`` and the metrics
        in percent: ``R@1``, ``RP`` and ``M@R`` for GCA-HNG, ``R@1`` only
        for the baselines (the paper gives no more). None for settings the
        metafiles do not list (e.g. G512 baselines, R512 NP).
    """
    if method is not None and method not in METHODS:
        raise ValueError(f'method must be one of {METHODS}, got {method!r}')
    parsed = parse_config_name(config_name)
    if parsed is None:
        return None
    folder_method, _, _, dataset = parsed
    method = method or folder_method or 'gcahng'
    entry = paper_results().get((method, _folder_and_stem(config_name)[1]))
    if entry is None:
        return None
    arch, _, loss = entry['setting'].partition(' ')
    out = dict(
        method=method,
        setting=entry['setting'],
        arch=arch,
        loss=loss,
        dataset=dataset,
        source=entry['source'])
    out.update(entry['metrics'])
    return out


def paper_table(entries: Optional[Sequence[dict]] = None) -> str:
    """The metafiles' numbers as one Markdown table: a row per method and
    setting, a column per dataset with ``R@1 / RP / M@R`` (as far as the
    paper gives them)."""
    if entries is None:
        entries = list(paper_results().values())
    rows: Dict[Tuple[str, str], dict] = {}
    for e in entries:
        folder, stem = _folder_and_stem(e['config'])
        row = rows.setdefault((e['method'], e['setting']),
                              dict(configs=set(), cells={}))
        row['configs'].add(f'{folder}/{stem.rsplit("_", 1)[0]}_*.py')
        given = [
            f'{e["metrics"][m]:.1f}' for m in PAPER_METRICS
            if m in e['metrics']
        ]
        row['cells'][e['dataset']] = ' / '.join(given)
    names = list(DATASETS.values())
    seen = {d for r in rows.values() for d in r['cells']}
    names += sorted(seen - set(names))
    header = ['method', 'setting', 'configs'] + names
    lines = [
        '| ' + ' | '.join(header) + ' |',
        '|' + '|'.join(['---'] * len(header)) + '|',
    ]
    for (method, setting), row in rows.items():
        configs = ', '.join(f'`{c}`' for c in sorted(row['configs']))
        cells = [method, setting, configs]
        cells += [row['cells'].get(d, '–') for d in names]
        lines.append('| ' + ' | '.join(cells) + ' |')
    return ('\n'.join(lines) + '\n\n' + ' / '.join(PAPER_METRICS) +
            ' (%) as far as the paper gives them, from ' +
            ' and '.join(METAFILES) + '.\n')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command line of the tool."""
    parser = argparse.ArgumentParser(
        prog='collect_results.py',
        description='Collect R@K / RP / M@R of training runs into one '
        'Markdown table, next to the paper\'s numbers.')
    parser.add_argument('work_dirs', nargs='*', help='work dirs of runs')
    parser.add_argument(
        '--source',
        choices=['auto', 'test', 'val'],
        default='auto',
        help='test results (tools/test.py), the last validation of '
        'training, or test if there is one else val (default)')
    parser.add_argument(
        '--out-dir',
        help='output folder (default: <work dir>/analysis/collect_results '
        'or <common parent>/collect_results)')
    parser.add_argument(
        '--paper-table',
        action='store_true',
        help="print the paper's numbers (configs/*/metafile.yml) as one "
        'Markdown table (also to <out dir>/paper.md with --out-dir) '
        'instead of collecting runs')
    args = parser.parse_args(argv)
    if bool(args.work_dirs) == args.paper_table:
        parser.error('give either work dirs of runs or --paper-table')
    return args


def metrics_of(record: dict) -> Dict[str, float]:
    """``R@K``, ``RP`` and ``M@R`` of a metrics dict (prefix such as
    ``retrieval/`` dropped)."""
    out = {}
    for key, value in record.items():
        match = _METRIC.match(str(key))
        if match and isinstance(value,
                                (int, float)) and not isinstance(value, bool):
            out[match.group(1)] = float(value)
    return out


def find_test_results(work_dir: str) -> List[Tuple[float, str, dict]]:
    """``(mtime, path, metrics)`` of every JSON object with metrics under
    ``work_dir`` (not the json-lines logs in ``vis_data``)."""
    found = []
    pattern = osp.join(work_dir, '**', '*.json')
    for path in glob.glob(pattern, recursive=True):
        parts = osp.relpath(path, work_dir).split(os.sep)
        if 'vis_data' in parts or 'analysis' in parts:
            continue
        try:
            with open(path) as f:
                record = json.load(f)
        except (ValueError, OSError, UnicodeDecodeError):
            continue  # json-lines logs, partial files
        if isinstance(record, dict):
            metrics = metrics_of(record)
            if 'R@1' in metrics:
                found.append((osp.getmtime(path), path, metrics))
    return sorted(found)


def find_val_results(
        work_dir: str) -> List[Tuple[float, str, dict, Optional[int]]]:
    """``(mtime, path, metrics, step)`` of the last evaluation in each
    json-lines log (``vis_data/scalars.json``, ``*.log.json``)."""
    paths = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    paths += glob.glob(osp.join(work_dir, '**', '*.log.json'), recursive=True)
    found = []
    for path in paths:
        last = None
        try:
            with open(path) as f:
                for line in f:
                    try:
                        record = json.loads(line)
                    except ValueError:
                        continue
                    if not isinstance(record, dict):
                        continue
                    metrics = metrics_of(record)
                    if 'R@1' in metrics:
                        step = record.get('step', record.get('epoch'))
                        last = (metrics, step)
        except (OSError, UnicodeDecodeError):
            continue
        if last is not None:
            found.append((osp.getmtime(path), path, last[0], last[1]))
    return sorted(found)


def run_config(work_dir: str) -> Tuple[Optional[str], Optional[str]]:
    """``(config name, method)`` from the config dumped in the work dir
    (the newest ``*.py``). ``method`` is ``'gcahng'`` for a GCA-HNG model
    that generates negatives, ``'baseline'`` for a ``DMLRetriever``, else
    None."""
    from mmengine.config import Config
    configs = sorted(glob.glob(osp.join(work_dir, '*.py')), key=osp.getmtime)
    if not configs:
        return None, None
    path = configs[-1]
    name = osp.splitext(osp.basename(path))[0]
    try:
        model = Config.fromfile(
            path, import_custom_modules=False).get('model', {})
    except Exception:  # noqa: B902 (any unreadable config: no method)
        return name, None
    mtype = str(model.get('type', ''))
    if mtype.endswith('GCAHNG') and model.get('generate', True):
        return name, 'gcahng'
    if mtype.endswith('DMLRetriever'):
        return name, 'baseline'
    return name, None


def collect(work_dir: str, source: str = 'auto') -> Optional[dict]:
    """The result row of one work dir, or None if it has no metrics."""
    if not osp.isdir(work_dir):
        raise AnalysisError(f'no work dir at {work_dir}')
    row = None
    if source in ('auto', 'test'):
        tests = find_test_results(work_dir)
        if tests:
            _, path, metrics = tests[-1]
            row = dict(
                metrics=metrics,
                source='test',
                file=osp.relpath(path, work_dir))
    if row is None and source in ('auto', 'val'):
        vals = find_val_results(work_dir)
        if vals:
            _, path, metrics, step = vals[-1]
            row = dict(
                metrics=metrics,
                source=f'val@{step}' if step is not None else 'val',
                file=osp.relpath(path, work_dir))
    if row is None:
        return None
    config, method = run_config(work_dir)
    row.update(
        work_dir=work_dir,
        config=config,
        method=method,
        paper=paper_result(config, method) if config and method else None)
    return row


def _fmt(value: Optional[float], digits: int = 2) -> str:
    return '–' if value is None else f'{value:.{digits}f}'


def _ks(rows: List[dict]) -> List[str]:
    ks = {k for r in rows for k in r['metrics'] if k.startswith('R@')}
    return sorted(ks, key=lambda k: int(k[2:]))


def markdown_table(rows: List[dict]) -> str:
    """The Markdown table of the collected rows."""
    ks = _ks(rows)
    header = (['Run', 'Config', 'Method', 'Source'] + ks + ['RP', 'M@R'] +
              [f'Paper {m}' for m in PAPER_METRICS] + ['ΔR@1'])
    lines = [
        '| ' + ' | '.join(header) + ' |',
        '|' + '|'.join(['---'] * 4 + ['---:'] * (len(header) - 4)) + '|'
    ]
    for r in rows:
        m, paper = r['metrics'], r['paper'] or {}
        delta = (
            m['R@1'] - paper['R@1'] if 'R@1' in paper and 'R@1' in m else None)
        cells = [r['run'], r['config'] or '–', r['method'] or '–', r['source']]
        cells += [_fmt(m.get(k)) for k in ks + ['RP', 'M@R']]
        cells += [_fmt(paper.get(k), 1) for k in PAPER_METRICS]
        cells.append('–' if delta is None else f'{delta:+.2f}')
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines) + '\n'


def plot_rows(rows: List[dict], path: str) -> None:
    """Grouped bars of R@1 / RP / M@R per run; the paper's as black
    bars."""
    plt = get_pyplot()
    fig, ax = plt.subplots(figsize=(max(5, 1.8 * len(rows) + 2), 4))
    width = 0.8 / len(PAPER_METRICS)
    xs = np.arange(len(rows))
    for i, metric in enumerate(PAPER_METRICS):
        vals = [r['metrics'].get(metric, np.nan) for r in rows]
        pos = xs + (i - 1) * width
        ax.bar(pos, vals, width, label=metric)
        paper = [(r['paper'] or {}).get(metric, np.nan) for r in rows]
        ax.hlines(
            paper,
            pos - width / 2,
            pos + width / 2,
            colors='black',
            linewidth=2.5,
            label='paper' if i == 0 else None)
    ax.set_xticks(xs)
    ax.set_xticklabels([r['run'] for r in rows],
                       rotation=20,
                       ha='right',
                       fontsize=8)
    ax.set_ylabel('%')
    ax.set_title('Retrieval results (black: paper)')
    ax.legend(fontsize=8)
    save_figure(fig, path)


def run_names(work_dirs: Sequence[str]) -> List[str]:
    """Work dir base names; where they repeat, as many parent folders as
    it takes to tell them apart (``gcahng/r50_pa_cub``)."""
    parts = [osp.abspath(w).split(os.sep) for w in work_dirs]
    depth = [1] * len(parts)
    while True:
        names = ['/'.join(p[-d:]) for p, d in zip(parts, depth)]
        dup = {n for n in names if names.count(n) > 1}
        grow = [
            i for i, n in enumerate(names)
            if n in dup and depth[i] < len(parts[i])
        ]
        if not grow:
            return names
        for i in grow:
            depth[i] += 1


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Run the tool; returns what it writes to ``results.json``."""
    args = parse_args(argv)
    if args.paper_table:
        table = paper_table()
        print(table)
        result = dict(table=table)
        if args.out_dir:
            os.makedirs(args.out_dir, exist_ok=True)
            with open(osp.join(args.out_dir, 'paper.md'), 'w') as f:
                f.write(table)
            result['out_dir'] = args.out_dir
        return result
    work_dirs = list(dict.fromkeys(args.work_dirs))
    rows, skipped = [], []
    for work_dir, name in zip(work_dirs, run_names(work_dirs)):
        row = collect(work_dir, args.source)
        if row is None:
            skipped.append(work_dir)
            print(f'{work_dir}: no {args.source} results found, skipped')
            continue
        row['run'] = name
        rows.append(row)
    if not rows:
        raise AnalysisError('none of the work dirs has results (a JSON from '
                            'tools/test.py --out, or a validation in '
                            '<timestamp>/vis_data/scalars.json)')
    if args.out_dir:
        out_dir = args.out_dir
    elif len(work_dirs) == 1:
        out_dir = osp.join(work_dirs[0], 'analysis', TOOL)
    else:
        out_dir = osp.join(
            osp.commonpath([osp.abspath(w) for w in work_dirs]), TOOL)
    table = markdown_table(rows)
    os.makedirs(out_dir, exist_ok=True)
    with open(osp.join(out_dir, 'results.md'), 'w') as f:
        f.write(table)
    ks = _ks(rows)
    csv_rows = []
    for r in rows:
        paper = r['paper'] or {}
        csv_row = dict(
            run=r['run'],
            work_dir=r['work_dir'],
            config=r['config'],
            method=r['method'],
            source=r['source'],
            file=r['file'])
        csv_row.update({k: r['metrics'].get(k) for k in ks})
        csv_row.update(
            RP=r['metrics'].get('RP'), **{'M@R': r['metrics'].get('M@R')})
        csv_row.update({f'paper_{k}': paper.get(k) for k in PAPER_METRICS})
        csv_rows.append(csv_row)
    write_csv(osp.join(out_dir, 'results.csv'), csv_rows)
    plot_rows(rows, osp.join(out_dir, 'results.png'))
    result = dict(rows=rows, skipped=skipped, table=table)
    write_json(osp.join(out_dir, 'results.json'), result)
    print(table)
    print(f'Results written to {out_dir}')
    result['out_dir'] = out_dir
    return result


if __name__ == '__main__':
    run_tool(lambda: main(sys.argv[1:]))
