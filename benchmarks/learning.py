"""Does GCA-HNG make models better? Train configs x seeds, evaluate, compare.

    python benchmarks/learning.py \\
        configs/baselines/r18_pa_icons.py configs/gcahng/r18_pa_icons.py \\
        --seeds 0 1 2 [--pretrained auto] [--dev] [--jobs 2]

The first config is the baseline, the second the method; further configs
(ablations) are compared with the baseline as well. Every (config, seed)
run trains with ``tools/train.py`` in its own work dir and is evaluated on
the config's test split at the end; a finished run is not trained again
while its resolved settings stay the same (delete its folder to redo it).
The table gives mean ± sd over the seeds of
R@1, RP and M@R, the gain over the baseline (paired by seed, its mean ±
sd), and the last epoch's graph-head node accuracy and mean loss values
that show the method's health. The last line is
``RESULT hng_gain_r1=<mean R@1 of the second config minus the baseline's>``.

Regimes: from scratch (default), or ``--pretrained CKPT`` with the backbone
initialised from a checkpoint of another run; ``--pretrained auto`` first
trains ``configs/baselines/r18_pa_icons_pretrain.py`` (the icon names that
are in neither split of the benchmark) once and uses its backbone.

``--dev`` trains and evaluates on the development split written by
``tools/dataset_converters/icon_themes.py`` (the 100 training classes
re-split 60/40), so that settings are chosen without the test classes.
``--jobs`` runs that many trainings at once, each on cores/jobs threads.
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
from typing import Dict, List, Optional

from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
PRETRAIN_CONFIG = 'configs/baselines/r18_pa_icons_pretrain.py'
DEV_ROOT = 'data/icon_themes_dev'
DEV_TRAIN_CLASSES = 60
METRICS = ('R@1', 'RP', 'M@R')
#: training log values averaged over the last epoch, shown in the table
HEALTH = ('gce_acc', 'loss_gce', 'loss_syn', 'syn_hardness')


def run_name(config: str) -> str:
    return osp.splitext(config.replace('configs/', '').replace('/', '_'))[0]


def set_num_classes(model: dict, num: int) -> None:
    """The number of training classes wherever a module has one."""
    for key in ('loss_metric', 'graph_head'):
        if key in model and 'num_classes' in model[key]:
            model[key]['num_classes'] = num


def prepare_config(config: str, work_dir: str, seed: int,
                   args: argparse.Namespace, pretrained: Optional[str]) -> str:
    """The run's config file: ``config`` with the seed, the regime and the
    split applied; returns its path."""
    cfg = Config.fromfile(osp.join(REPO, config))
    cfg.randomness = dict(seed=seed, deterministic=False)
    cfg.work_dir = work_dir
    if args.dev:
        for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            cfg[key].dataset.data_root = DEV_ROOT
        set_num_classes(cfg.model, DEV_TRAIN_CLASSES)
    if pretrained:
        cfg.model.backbone.init_cfg = dict(
            type='Pretrained', checkpoint=pretrained, prefix='backbone')
    for key, value in (args.cfg_options or {}).items():
        cfg.merge_from_dict({key: value})
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
        for key in HEALTH:
            vals = [r[key] for r in last if key in r]
            if vals:
                out[key] = sum(vals) / len(vals)
    return out


def train_one(config: str,
              seed: int,
              args: argparse.Namespace,
              pretrained: Optional[str],
              threads: int,
              tag: str = '') -> Dict[str, float]:
    work_dir = osp.join(args.out_dir, tag or run_name(config), f'seed{seed}')
    done = osp.join(work_dir, 'metrics.json')
    used = osp.join(work_dir, 'config.py')
    previous = None
    if osp.isfile(done) and osp.isfile(used):
        previous = used + '.previous.py'
        os.replace(used, previous)
    cfg_file = prepare_config(config, work_dir, seed, args, pretrained)
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
        raise RuntimeError(f'{config} seed {seed} failed; see '
                           f'{work_dir}/train.log')
    metrics = last_epoch_scalars(work_dir)
    metrics['minutes'] = (time.time() - start) / 60
    with open(done, 'w') as f:
        json.dump(metrics, f, indent=2)
    return metrics


def mean_sd(values: List[float]) -> str:
    if not values:
        return '-'
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f'{statistics.mean(values):.1f} ± {sd:.1f}'


def table(configs: List[str], seeds: List[int],
          results: Dict[str, Dict[int, dict]]) -> str:
    base = results[configs[0]]
    head = ['config', 'seeds'] + list(METRICS) + [
        'Δ R@1', 'Δ M@R', 'node acc', 'L_gce', 'L_syn', 'hardness'
    ]
    lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    for config in configs:
        res = results[config]
        row = [config, ','.join(str(s) for s in seeds)]
        row += [mean_sd([res[s][k] for s in seeds]) for k in METRICS]
        for k in ('R@1', 'M@R'):
            row.append('-' if config == configs[0] else mean_sd(
                [res[s][k] - base[s][k] for s in seeds]))
        for k in HEALTH:
            vals = [res[s][k] for s in seeds if k in res[s]]
            row.append(f'{statistics.mean(vals):.2f}' if vals else '-')
        lines.append('| ' + ' | '.join(row) + ' |')
    return '\n'.join(lines)


def main() -> None:
    from mmengine.config import DictAction
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('configs', nargs='+', help='baseline first, then GCA-HNG')
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument(
        '--pretrained',
        help='checkpoint whose backbone initialises every run, or "auto"')
    p.add_argument('--dev', action='store_true')
    p.add_argument('--jobs', type=int, default=1)
    p.add_argument('--out-dir', default='work_dirs/learning')
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = p.parse_args()
    if len(args.configs) < 2:
        p.error('give the baseline config and at least one other')
    threads = max(1, (os.cpu_count() or 1) // args.jobs)

    pretrained = args.pretrained
    if pretrained == 'auto':
        print(f'pretraining the backbone with {PRETRAIN_CONFIG}')
        pre_args = argparse.Namespace(
            **dict(vars(args), dev=False, cfg_options=None))
        train_one(PRETRAIN_CONFIG, 0, pre_args, None,
                  os.cpu_count() or 1, 'pretrain')
        pretrained = osp.abspath(
            open(
                osp.join(args.out_dir, 'pretrain', 'seed0',
                         'last_checkpoint')).read().strip())
    regime = 'pretrained' if pretrained else 'scratch'
    args.out_dir = osp.join(args.out_dir,
                            regime + ('_dev' if args.dev else ''))

    jobs = [(c, s) for s in args.seeds for c in args.configs]
    results: Dict[str, Dict[int, dict]] = {c: {} for c in args.configs}
    start = time.time()
    with ThreadPoolExecutor(args.jobs) as pool:
        futures = {
            pool.submit(train_one, c, s, args, pretrained, threads): (c, s)
            for c, s in jobs
        }
        for i, fut in enumerate(futures, 1):
            c, s = futures[fut]
            results[c][s] = fut.result()
            print(
                f'[{i}/{len(jobs)}] {c} seed {s}: R@1 '
                f'{results[c][s]["R@1"]:.2f} M@R '
                f'{results[c][s]["M@R"]:.2f} '
                f'({(time.time() - start) / 60:.1f} min so far)',
                flush=True)
    print(f'\nregime: {regime}{" (dev split)" if args.dev else ""}, '
          f'{(time.time() - start) / 60:.1f} min')
    print(table(args.configs, args.seeds, results))
    gain = statistics.mean(results[args.configs[1]][s]['R@1'] -
                           results[args.configs[0]][s]['R@1']
                           for s in args.seeds)
    print(f'RESULT hng_gain_r1={gain:.2f}')


if __name__ == '__main__':
    main()
