"""Does GCA-HNG make models better? Train baselines and GCA-HNG over seeds on
the real-image benchmarks, evaluate, compare.

The whole table (benchmark x loss x regime x seeds, baseline and GCA-HNG;
docs/benchmarks.md)::

    python benchmarks/learning.py --suite [--benchmarks icons widelands] \\
        [--losses PA NP+] [--regimes scratch pretrained] [--seeds 0 1 2] \\
        [--variant NAME:KEY=VALUE[;KEY=VALUE...]] [--dev] [--jobs 2]

Configs of one benchmark (the first is the baseline, the others are
compared with it)::

    python benchmarks/learning.py \\
        configs/baselines/r18_pa_icons.py configs/gcahng/r18_pa_icons.py \\
        [ABLATION.py ...] --seeds 0 1 2 [--pretrained auto|CKPT] [--dev]

Every (config, seed) run trains with ``tools/train.py`` in its own work dir
and is evaluated on the config's test split at the end; a finished run is
not trained again while its resolved settings stay the same (delete its
folder to redo it). Tables give mean ± sd over the seeds of R@1, RP and
M@R, the gain over the baseline (paired by seed, mean ± sd) and the last
epoch's mean values of the training-health logs (node accuracy, cosine of
real negatives, hardness of the synthetic negatives). ``--variant`` adds a
GCA-HNG row with config options on top of the benchmark's GCA-HNG config
(e.g. ``--variant 'pair@PA:model.syn_grad=all'``; ``@LOSS`` limits a
variant to one loss). The suite writes
every run's metrics to ``--results`` (JSON) and ends with
``RESULT min_gain_r1=<the smallest mean R@1 gain of GCA-HNG>``; the config
mode ends with ``RESULT hng_gain_r1=<mean R@1 gain of the second config>``.

Regimes: from scratch, or pretrained: the backbone initialised from a
baseline trained on the benchmark's pretraining classes (in neither split;
``--pretrained auto`` trains it once per benchmark, or pass a checkpoint).
``--dev`` trains and evaluates on the benchmark's development split (its
training classes re-split 60/40), so that settings are chosen without the
test classes. ``--jobs`` runs that many trainings at once, each on
cores/jobs threads.
"""
import argparse
import glob
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, List, NamedTuple, Optional, Tuple

from mmengine.config import Config, DictAction

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from gcahng.evaluation import result_tables  # noqa: E402
from gcahng.evaluation.result_tables import gains, runs_table  # noqa: E402

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
METRICS = ('R@1', 'RP', 'M@R')
#: training log values averaged over the last epoch, shown in the tables
HEALTH = ('gce_acc', 'real_neg_cos', 'syn_hardness', 'syn_harder_than_pos')
HEALTH_COLUMNS = tuple((k, k) for k in HEALTH)
LOSSES = ('PA', 'NP+')
REGIMES = ('scratch', 'pretrained')


class Benchmark(NamedTuple):
    """A real-image benchmark built offline (docs/benchmarks.md)."""
    data_root: str
    dev_root: str
    dev_train_classes: int
    pretrain_config: str
    #: loss -> (baseline config, GCA-HNG config)
    pairs: Dict[str, Tuple[str, str]]
    build: str


BENCHMARKS = {
    'icons':
    Benchmark(
        'data/icon_themes', 'data/icon_themes_dev', 60,
        'configs/baselines/r18_pa_icons_pretrain.py', {
            'PA': ('configs/baselines/r18_pa_icons.py',
                   'configs/gcahng/r18_pa_icons.py'),
            'NP+': ('configs/baselines/r18_npplus_icons.py',
                    'configs/gcahng/r18_npplus_icons.py'),
        }, 'python tools/dataset_converters/icon_themes.py --install'),
    'widelands':
    Benchmark(
        'data/widelands', 'data/widelands_dev', 39,
        'configs/baselines/r18_pa_widelands_pretrain.py', {
            'PA': ('configs/baselines/r18_pa_widelands.py',
                   'configs/gcahng/r18_pa_widelands.py'),
            'NP+': ('configs/baselines/r18_npplus_widelands.py',
                    'configs/gcahng/r18_npplus_widelands.py'),
        }, 'python tools/dataset_converters/widelands.py --download'),
}


class Run(NamedTuple):
    """One training: a config (plus options) under a name."""
    name: str
    config: str
    options: Dict[str, object]


def run_name(config: str) -> str:
    return osp.splitext(config.replace('configs/', '').replace('/', '_'))[0]


def benchmark_of(config: str) -> str:
    """The benchmark whose data a config trains on."""
    root = Config.fromfile(osp.join(
        REPO, config)).train_dataloader.dataset.get('data_root')
    for name, bench in BENCHMARKS.items():
        if root in (bench.data_root, bench.dev_root):
            return name
    raise SystemExit(f'learning.py: {config} trains on {root!r}, not on a '
                     f'benchmark of this script ({", ".join(BENCHMARKS)})')


def set_num_classes(model: dict, num: int) -> None:
    """The number of training classes wherever a module has one."""
    for key in ('loss_metric', 'graph_head'):
        if key in model and 'num_classes' in model[key]:
            model[key]['num_classes'] = num


def prepare_config(run: Run, work_dir: str, seed: int, bench: Benchmark,
                   dev: bool, pretrained: Optional[str]) -> str:
    """The run's config file: its config with the options, the seed, the
    regime and the split applied; returns its path."""
    cfg = Config.fromfile(osp.join(REPO, run.config))
    cfg.merge_from_dict(dict(run.options))
    cfg.randomness = dict(seed=seed, deterministic=False)
    cfg.work_dir = work_dir
    if dev:
        for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            cfg[key].dataset.data_root = bench.dev_root
        set_num_classes(cfg.model, bench.dev_train_classes)
    if pretrained:
        cfg.model.backbone.init_cfg = dict(
            type='Pretrained', checkpoint=pretrained, prefix='backbone')
    path = osp.join(work_dir, 'config.py')
    os.makedirs(work_dir, exist_ok=True)
    cfg.dump(path)
    return path


def same_config(path_a: str, path_b: str) -> bool:
    """Whether two dumped configs resolve to the same settings (the
    ``launcher`` that ``tools/train.py`` adds to its dump aside)."""
    a, b = (Config.fromfile(p).to_dict() for p in (path_a, path_b))
    for cfg in (a, b):
        cfg.pop('launcher', None)
    return a == b


def last_epoch_scalars(work_dir: str) -> Dict[str, float]:
    """The final validation metrics and the last epoch's mean training log
    values, read from MMEngine's ``vis_data/scalars.json``."""
    files = sorted(
        glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not files:
        raise RuntimeError(f'no scalars.json under {work_dir}')
    rows = [json.loads(line) for line in open(files[-1]) if line.strip()]
    evals = [r for r in rows if 'retrieval/R@1' in r]
    if not evals:
        raise RuntimeError(f'{files[-1]} has no retrieval metrics')
    out = {
        k.split('/', 1)[1]: v
        for k, v in evals[-1].items() if k.startswith('retrieval/')
    }
    train = [r for r in rows if 'epoch' in r and 'loss_metric' in r]
    if train:
        last = [r for r in train if r['epoch'] == train[-1]['epoch']]
        for key in sorted({k for r in last for k in r}):
            vals = [r[key] for r in last if isinstance(r.get(key), float)]
            if vals and (key.startswith('loss') or key in HEALTH):
                out[key] = sum(vals) / len(vals)
    return out


def train_one(run: Run, seed: int, out_dir: str, bench: Benchmark, dev: bool,
              pretrained: Optional[str], threads: int) -> Dict[str, float]:
    """Train and evaluate one run (or read back its finished result)."""
    work_dir = osp.join(out_dir, run.name, f'seed{seed}')
    done = osp.join(work_dir, 'metrics.json')
    used = osp.join(work_dir, 'config.py')
    previous = None
    if osp.isfile(done) and osp.isfile(used):
        previous = used + '.previous.py'
        os.replace(used, previous)
    cfg_file = prepare_config(run, work_dir, seed, bench, dev, pretrained)
    if previous:  # a finished run counts only if its settings are today's
        unchanged = same_config(previous, cfg_file)
        os.remove(previous)
        if unchanged:
            return json.load(open(done))
    env = dict(
        os.environ,
        OMP_NUM_THREADS=str(threads),
        MKL_NUM_THREADS=str(threads),
        PYTHONPATH=REPO)
    start = time.time()
    with open(osp.join(work_dir, 'train.log'), 'w') as log:
        proc = subprocess.run(
            [sys.executable,
             osp.join(REPO, 'tools/train.py'), cfg_file],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        raise RuntimeError(f'{run.name} seed {seed} failed; see '
                           f'{work_dir}/train.log')
    metrics = last_epoch_scalars(work_dir)
    metrics['minutes'] = (time.time() - start) / 60
    with open(done, 'w') as f:
        json.dump(metrics, f, indent=2)
    return metrics


def pretrain(bench_name: str, out_dir: str) -> str:
    """Train the benchmark's pretraining baseline once; its checkpoint."""
    bench = BENCHMARKS[bench_name]
    print(f'pretraining the backbone with {bench.pretrain_config}', flush=True)
    run = Run('pretrain', bench.pretrain_config, {})
    folder = osp.join(out_dir, bench_name)
    train_one(run, 0, folder, bench, False, None, os.cpu_count() or 1)
    return pretrained_checkpoint(folder)


def pretrained_checkpoint(folder: str) -> str:
    """The pretraining run's last checkpoint under ``folder``, named
    relative to the repository when it is inside it (runs start there), so
    that the runs' configs, and so their cache, do not depend on where the
    checkout lies. MMEngine's ``last_checkpoint`` names the file by the path
    it had when it was written: only its name is read."""
    run_dir = osp.join(folder, 'pretrain', 'seed0')
    with open(osp.join(run_dir, 'last_checkpoint')) as f:
        path = osp.abspath(osp.join(run_dir, osp.basename(f.read().strip())))
    inside = osp.relpath(path, REPO)
    return path if inside.startswith('..') else inside


def check_built(bench_name: str, dev: bool) -> None:
    bench = BENCHMARKS[bench_name]
    root = bench.dev_root if dev else bench.data_root
    if not osp.isfile(osp.join(REPO, root, 'images.txt')):
        raise SystemExit(f'learning.py: the {bench_name} benchmark is not '
                         f'built ({root} missing): run `{bench.build}`')


def table(names: List[str], seeds: List[int],
          results: Dict[str, Dict[int, dict]]) -> str:
    """Configs of one benchmark and regime: one row each, gains against the
    first (the baseline)."""
    return runs_table(names, seeds, results, METRICS, HEALTH_COLUMNS)


def suite_table(results: dict, seeds: List[int]) -> str:
    """One row per benchmark x loss x regime x GCA-HNG run: the baseline's
    and GCA-HNG's R@1 and M@R (mean ± sd), the paired gains and the health
    logs."""
    return result_tables.suite_table(results, seeds, HEALTH_COLUMNS)


def run_all(jobs: List[tuple], n_jobs: int) -> List[dict]:
    """``train_one`` over ``jobs`` (argument tuples), ``n_jobs`` at once,
    printing progress; results in the order of ``jobs``."""
    threads = max(1, (os.cpu_count() or 1) // n_jobs)
    start = time.time()
    out: List[dict] = [{} for _ in jobs]
    with ThreadPoolExecutor(n_jobs) as pool:
        futures = {
            pool.submit(train_one, *job, threads): i
            for i, job in enumerate(jobs)
        }
        for done, fut in enumerate(futures, 1):
            i = futures[fut]
            try:
                out[i] = fut.result()
            except BaseException:
                # stop at the first failure: without this the pool would
                # run every queued job before the error is seen
                for other in futures:
                    other.cancel()
                raise
            run, seed, folder = jobs[i][:3]
            print(
                f'[{done}/{len(jobs)}] {osp.relpath(folder, REPO)} '
                f'{run.name} seed {seed}: R@1 {out[i]["R@1"]:.2f} M@R '
                f'{out[i]["M@R"]:.2f} ({(time.time() - start) / 60:.1f} '
                'min so far)',
                flush=True)
    return out


#: ``Run.config`` of a variant on top of the baseline config
ON_BASELINE = 'baseline'


def parse_variant(text: str) -> Tuple[Run, Optional[str]]:
    """``[base/]NAME[@LOSS]:KEY=VALUE[;KEY=VALUE...]`` -> a run's options
    and the loss it is for (None: every loss). The run is on top of the
    GCA-HNG config, or with ``base/`` on top of the baseline config (its
    ``config`` is then :data:`ON_BASELINE`; e.g. the XBM baseline,
    ``base/xbm:model.memory.size=324;model.memory.graph=False;``
    ``model.memory.mining=True``)."""
    name, _, spec = text.partition(':')
    on_base = name.startswith('base/')
    if on_base:
        name = name[len('base/'):]
    name, _, loss = name.partition('@')
    options = {}
    for item in filter(None, spec.split(';')):
        key, _, value = item.partition('=')
        options[key.strip()] = DictAction._parse_iterable(value.strip())
    return Run(name, ON_BASELINE if on_base else '', options), loss or None


def write_results(path: str, seeds: List[int], dev: bool,
                  results: dict) -> None:
    """Write the suite's results to ``path`` (JSON). A results file already
    there from the same seeds and split keeps its other rows: a run of a
    part of the suite (one benchmark, one loss, a variant) adds its rows,
    replacing the runs it measured again."""
    merged: dict = {}
    if osp.isfile(path):
        with open(path) as f:
            old = json.load(f)
        if old.get('seeds') == list(seeds) and old.get('dev') == dev:
            merged = old['results']
        else:
            print(f'{path}: other seeds or split; its rows are replaced')
    for bench, by_regime in results.items():
        for regime, by_loss in by_regime.items():
            for loss, runs in by_loss.items():
                merged.setdefault(bench, {}).setdefault(regime, {}).setdefault(
                    loss, {}).update(runs)
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(
            dict(seeds=list(seeds), dev=dev, results=merged), f, indent=1)


def suite(args: argparse.Namespace) -> None:
    variants = [parse_variant(v) for v in args.variant or []]
    for bench in args.benchmarks:
        check_built(bench, args.dev)
    checkpoints = {}
    if 'pretrained' in args.regimes:
        for bench in args.benchmarks:
            checkpoints[bench] = pretrain(bench, args.out_dir)
    jobs, keys = [], []
    for bench_name in args.benchmarks:
        bench = BENCHMARKS[bench_name]
        for regime in args.regimes:
            folder = osp.join(args.out_dir, bench_name,
                              regime + ('_dev' if args.dev else ''))
            for loss in args.losses:
                base_cfg, hng_cfg = bench.pairs[loss]
                runs = [
                    Run('baseline', base_cfg, {}),
                    Run('GCA-HNG', hng_cfg, {})
                ] + [
                    Run(v.name, base_cfg
                        if v.config == ON_BASELINE else hng_cfg, v.options)
                    for v, only in variants if only in (None, loss)
                ]
                for run in runs:
                    run = run._replace(name=f'{loss}_{run.name}')
                    for seed in args.seeds:
                        jobs.append((run, seed, folder, bench, args.dev,
                                     checkpoints.get(bench_name)
                                     if regime == 'pretrained' else None))
                        keys.append((bench_name, regime, loss,
                                     run.name.split('_', 1)[1], seed))
    start = time.time()
    results: dict = {}
    for (bench, regime, loss, name, seed), res in zip(keys,
                                                      run_all(jobs,
                                                              args.jobs)):
        results.setdefault(bench, {}).setdefault(regime, {}).setdefault(
            loss, {}).setdefault(name, {})[seed] = res
    print(f'\n{len(jobs)} runs{" (dev split)" if args.dev else ""}, '
          f'{(time.time() - start) / 60:.1f} min')
    print(suite_table(results, args.seeds))
    write_results(args.results, args.seeds, args.dev, results)
    print(f'results: {args.results}')
    worst = min(
        statistics.mean(
            gains(runs['GCA-HNG'], runs['baseline'], 'R@1', args.seeds))
        for by_regime in results.values() for by_loss in by_regime.values()
        for runs in by_loss.values())
    print(f'RESULT min_gain_r1={worst:.2f}')


def compare(args: argparse.Namespace) -> None:
    bench_name = benchmark_of(args.configs[0])
    check_built(bench_name, args.dev)
    bench = BENCHMARKS[bench_name]
    pretrained = args.pretrained
    if pretrained == 'auto':
        pretrained = pretrain(bench_name, args.out_dir)
    regime = 'pretrained' if pretrained else 'scratch'
    folder = osp.join(args.out_dir, bench_name,
                      regime + ('_dev' if args.dev else ''))
    options = dict(args.cfg_options or {})
    runs = [Run(run_name(c), c, options) for c in args.configs]
    runs += [
        Run(v.name, args.configs[0 if v.config == ON_BASELINE else 1],
            dict(options, **v.options))
        for v, _ in map(parse_variant, args.variant or [])
    ]
    jobs = [(r, s, folder, bench, args.dev, pretrained) for s in args.seeds
            for r in runs]
    start = time.time()
    results: Dict[str, Dict[int, dict]] = {r.name: {} for r in runs}
    for (run, seed, *_), res in zip(jobs, run_all(jobs, args.jobs)):
        results[run.name][seed] = res
    print(f'\n{bench_name}, {regime}{" (dev split)" if args.dev else ""}, '
          f'{(time.time() - start) / 60:.1f} min')
    names = [r.name for r in runs]
    print(table(names, args.seeds, results))
    gain = statistics.mean(
        gains(results[names[1]], results[names[0]], 'R@1', args.seeds))
    print(f'RESULT hng_gain_r1={gain:.2f}')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument(
        'configs',
        nargs='*',
        help='baseline first, then GCA-HNG and any ablations (not with '
        '--suite)')
    p.add_argument(
        '--suite',
        action='store_true',
        help='run benchmark x loss x regime, baseline and GCA-HNG')
    p.add_argument(
        '--benchmarks',
        nargs='+',
        default=list(BENCHMARKS),
        choices=list(BENCHMARKS))
    p.add_argument('--losses', nargs='+', default=list(LOSSES), choices=LOSSES)
    p.add_argument(
        '--regimes', nargs='+', default=list(REGIMES), choices=REGIMES)
    p.add_argument(
        '--variant',
        action='append',
        help='a further row, [base/]NAME[@LOSS]:KEY=VALUE[;...]: options '
        'on top of each GCA-HNG config (--suite; @LOSS: of that loss only) '
        'or of the second config; base/: on top of the baseline config')
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument(
        '--pretrained',
        help='checkpoint whose backbone initialises every run, or "auto" '
        '(not with --suite)')
    p.add_argument('--dev', action='store_true')
    p.add_argument('--jobs', type=int, default=1)
    p.add_argument('--out-dir', default='work_dirs/learning')
    p.add_argument(
        '--results',
        default='docs/results/learning.json',
        help='with --suite: where every run\'s metrics are written')
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = p.parse_args(argv)
    if args.suite and (args.configs or args.pretrained):
        p.error('--suite takes no configs and no --pretrained')
    if not args.suite and len(args.configs) < 2:
        p.error('give the baseline config and at least one other, or '
                '--suite')
    return args


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    suite(args) if args.suite else compare(args)


if __name__ == '__main__':
    main()
