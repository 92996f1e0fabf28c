"""HNG overhead: GCA-HNG's training iteration and inference batch against
its baseline's (paper Table 7).

The one front end of the timing core :mod:`speed_core` (beside this file):
times ``train_step`` (docs/algorithm.md §6: both graph passes, three
optimisers) of a GCA-HNG config and of its baseline twin
(``configs/gcahng/X`` → ``configs/baselines/X``, or ``--baseline``) on the
same device, batch (the config's ``N x M`` in group order,
docs/algorithm.md §1, random images of the config's crop size or
``--img-size``) and settings (medians after warm-up, pretrained weights
off, no data loading).

Printed: the settings, both step times, the time the HNG machinery adds on
its own (the difference of the two steps with the backbone output cached)
and its share of the GCA-HNG step, the inference time per batch, the peak
memory of the training iterations, the Table-7 rows as a Markdown table,
and as the last line ``RESULT hng_overhead=<ratio>``.

With ``--out-dir`` (``tools/analysis_tools/benchmark_speed.py`` sets it to
``work_dirs/benchmark_speed/<config name>`` by default) it also writes:

- ``speed.csv``: one row per method (``method``, ``train_s_per_iter``,
  ``infer_s_per_batch``, ``peak_train_mem_mib``, ``train_ratio``,
  ``infer_ratio``);
- ``speed.json``: the same rows plus the settings, the device, the
  per-iteration times, the cached-feature step times and the HNG summary
  (see :func:`speed_core.compare_train_step`);
- ``speed.md``: the Markdown table.

Paper Table 7 (ResNet-50, RTX 3090): 0.29 s/iter with GCA-HNG vs 0.22
s/iter for the baseline, inference unchanged.

Examples::

    python benchmarks/train_step.py                      # R50 PA CUB
    python benchmarks/train_step.py --img-size 64 --iters 3 --device cpu
    python benchmarks/train_step.py --amp --compile      # GPU
    python benchmarks/train_step.py \\
        --cfg-options model.graph_head.symmetric_edges=True
"""
import argparse
import csv
import json
import os
import os.path as osp
import sys
from typing import Dict, Optional, Sequence

import torch
from mmengine.config import DictAction

HERE = osp.dirname(osp.abspath(__file__))
if HERE not in sys.path:  # speed_core beside this file, also when this
    sys.path.insert(0, HERE)  # file is loaded by path (the tools, tests)

import speed_core as core  # noqa: E402

REPO = osp.dirname(HERE)
DEFAULT_CONFIG = osp.join(REPO, 'configs', 'gcahng', 'r50_pa_cub.py')
CSV_FIELDS = ('method', 'train_s_per_iter', 'infer_s_per_batch',
              'peak_train_mem_mib', 'train_ratio', 'infer_ratio')


def add_benchmark_args(parser: argparse.ArgumentParser) -> None:
    """The measurement options (everything but the config and the
    outputs)."""
    parser.add_argument(
        '--baseline',
        help='baseline config (default: the configs/baselines/ twin)')
    parser.add_argument(
        '--img-size',
        type=int,
        help='image side (default: the config\'s training crop)')
    parser.add_argument('--iters', type=int, default=10, help='timed iters')
    parser.add_argument('--warmup', type=int, default=2, help='warm-up iters')
    parser.add_argument(
        '--device',
        default='cuda' if torch.cuda.is_available() else 'cpu',
        help='torch device (default: cuda if available)')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='mixed precision (fp16 AmpOptimWrapper on CUDA, bf16 autocast '
        'on CPU)')
    parser.add_argument(
        '--compile',
        nargs='?',
        const='head',
        choices=['head', 'all'],
        help='torch.compile the graph head and CACAI ("head", the default '
        'of a bare --compile) or also backbone and neck ("all")')
    parser.add_argument(
        '--threads', type=int, help='torch.set_num_threads (CPU)')
    parser.add_argument(
        '--seed', type=int, default=0, help='weights, batch, draws')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='overrides of the GCA-HNG config (not the baseline), e.g. '
        'model.graph_head.symmetric_edges=False')


def bench_kwargs(args: argparse.Namespace) -> dict:
    """The :func:`speed_core.compare_train_step` settings from the options of
    :func:`add_benchmark_args`."""
    return dict(
        num_iters=args.iters,
        warmup=args.warmup,
        device=args.device,
        img_size=args.img_size,
        amp=args.amp,
        compile=args.compile,
        seed=args.seed)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command line of the benchmark."""
    parser = argparse.ArgumentParser(
        description='Time a GCA-HNG training step and inference batch '
        'against its baseline (paper Table 7).')
    parser.add_argument(
        'config',
        nargs='?',
        default=None,
        help='GCA-HNG config (default: configs/gcahng/r50_pa_cub.py)')
    add_benchmark_args(parser)
    parser.add_argument(
        '--no-inference',
        action='store_true',
        help='skip the inference timing')
    parser.add_argument(
        '--out-dir',
        help='write speed.csv, speed.json and speed.md here (default: '
        'print only)')
    return parser.parse_args(argv)


def resolve_configs(args: argparse.Namespace) -> Dict[str, str]:
    """The GCA-HNG config (default: :data:`DEFAULT_CONFIG`) and its
    baseline."""
    config = args.config or DEFAULT_CONFIG
    if not osp.exists(config):
        raise SystemExit(f'config not found: {config}')
    baseline = args.baseline or core.baseline_twin(config)
    if not osp.exists(baseline):
        raise SystemExit(f'baseline config not found: {baseline} (pass '
                         '--baseline)')
    return dict(config=config, baseline=baseline)


def _fmt(seconds: Optional[float]) -> str:
    return 'n/a' if seconds is None else f'{seconds:.4f} s'


def report(result: dict, configs: Dict[str, str], device: str) -> str:
    """The printed summary, without the final ``RESULT`` line."""
    hng, base, summary = (result['gcahng'], result['baseline'],
                          result['summary'])
    lines = [
        f'device:   {core.device_name(device)}',
        f'batch:    {hng["num_classes"]} x {hng["num_per_class"]} = '
        f'{hng["batch_size"]} images of {hng["img_size"]} px, '
        f'amp {"on" if hng["amp"] else "off"}, '
        f'compile {hng["compile"] or "off"}, median of {hng["num_iters"]} '
        f'iterations after {hng["warmup"]} warm-up',
        f'config:   {configs["config"]}',
        f'baseline: {configs["baseline"]}',
        f'memory:   {hng["mem_kind"]}',
        '',
        f'{"":10s}{"train step":>14s}{"cached-feature":>16s}'
        f'{"inference":>12s}{"peak memory":>14s}',
    ]
    for name, r in (('baseline', base), ('GCA-HNG', hng)):
        lines.append(f'{name:10s}{_fmt(r["train_s"]):>14s}'
                     f'{_fmt(r["cached_s"]):>16s}{_fmt(r["infer_s"]):>12s}'
                     f'{core.format_bytes(r["peak_mem_bytes"]):>14s}')
    lines += ['', core.markdown_table(core.table_rows(result)), '']
    lines.append(f'HNG overhead (train step ratio): '
                 f'{summary["hng_overhead"]:.3f}')
    if 'hng_s' in summary:
        lines.append(f'HNG machinery alone (cached-feature step difference): '
                     f'{summary["hng_s"]:.4f} s = '
                     f'{100 * summary["head_share"]:.1f}% of the GCA-HNG '
                     'step')
    if 'infer_ratio' in summary:
        lines.append(f'inference ratio: {summary["infer_ratio"]:.3f}')
    return '\n'.join(lines)


def write_files(out_dir: str, summary: dict) -> None:
    """``speed.csv``, ``speed.md`` and ``speed.json`` of :func:`main`'s
    summary."""
    os.makedirs(out_dir, exist_ok=True)
    with open(osp.join(out_dir, 'speed.csv'), 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=CSV_FIELDS)
        writer.writeheader()
        writer.writerows(summary['rows'])
    settings = summary['settings']
    header = (f'{settings["device_name"]}; batch {settings["num_classes"]} '
              f'x {settings["num_per_class"]} = {settings["batch_size"]}, '
              f'{settings["img_size"]} px; amp '
              f'{"on" if settings["amp"] else "off"}; compile '
              f'{settings["compile"] or "off"}; median of '
              f'{settings["num_iters"]} iterations after '
              f'{settings["warmup"]} warm-up')
    with open(osp.join(out_dir, 'speed.md'), 'w') as f:
        f.write(header + '\n\n' + core.markdown_table(summary['rows']) + '\n')
    with open(osp.join(out_dir, 'speed.json'), 'w') as f:
        json.dump(summary, f, indent=2, default=str)


def main(argv: Optional[Sequence[str]] = None,
         default_out_dir: bool = False) -> dict:
    """Run the benchmark; returns what ``speed.json`` holds.

    ``default_out_dir``: without ``--out-dir``, write the files to
    ``work_dirs/benchmark_speed/<config name>`` (the tool's default).
    """
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    configs = resolve_configs(args)
    out_dir = args.out_dir
    if out_dir is None and default_out_dir:
        out_dir = osp.join('work_dirs', 'benchmark_speed',
                           osp.splitext(osp.basename(configs['config']))[0])
    result = core.compare_train_step(
        core.load_config(configs['config'], args.cfg_options),
        configs['baseline'],
        inference=not args.no_inference,
        **bench_kwargs(args))
    hng = result['gcahng']
    settings = {
        key: hng[key]
        for key in ('batch_size', 'num_classes', 'num_per_class', 'img_size',
                    'device', 'amp', 'compile', 'num_iters', 'warmup')
    }
    settings.update(
        configs,
        device_name=core.device_name(args.device),
        mem_kind=hng['mem_kind'],
        cfg_options=args.cfg_options)
    summary = dict(
        settings=settings,
        rows=core.table_rows(result),
        summary=result['summary'],
        gcahng=result['gcahng'],
        baseline=result['baseline'])
    print(report(result, configs, args.device))
    if out_dir:
        write_files(out_dir, summary)
        print(f'written: {osp.join(out_dir, "speed.csv")}, speed.json, '
              'speed.md')
    print(f'RESULT hng_overhead={result["summary"]["hng_overhead"]:.4f}')
    return summary


if __name__ == '__main__':
    main()
