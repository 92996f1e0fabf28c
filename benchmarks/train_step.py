"""HNG overhead: one GCA-HNG training iteration against its baseline's.

Times ``train_step`` (docs/algorithm.md §6: both graph passes, three
optimisers) of a GCA-HNG config and of its baseline twin
(``configs/gcahng/X`` → ``configs/baselines/X``, or ``--baseline``) on the
same device, batch (the config's ``N x M`` in the group order of
docs/algorithm.md §1, random images) and settings, with the timing core
:mod:`gcahng.utils.speed` (medians after warm-up, pretrained weights
off). Printed: both step times and their ratio, the time the HNG machinery
adds on its own (the difference of the two steps with the backbone output
cached) and its share of the GCA-HNG step, the inference time per batch,
and the peak memory of the training iterations. The last line is
``RESULT hng_overhead=<ratio>``.

Examples::

    python benchmarks/train_step.py                      # R50 PA CUB
    python benchmarks/train_step.py --img-size 64 --iters 3 --device cpu
    python benchmarks/train_step.py --amp --compile      # GPU
    python benchmarks/train_step.py \\
        --cfg-options model.graph_head.symmetric_edges=True
"""
import argparse
import os.path as osp
from typing import Dict, Optional

import torch

from gcahng.utils.speed import (add_benchmark_args, baseline_twin,
                                bench_kwargs, compare_train_step, device_name,
                                format_bytes, load_config)

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEFAULT_CONFIG = osp.join(REPO, 'configs', 'gcahng', 'r50_pa_cub.py')


def parse_args(argv: Optional[list] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Time a GCA-HNG training step against its baseline.')
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
    return parser.parse_args(argv)


def resolve_configs(args: argparse.Namespace) -> Dict[str, str]:
    """The GCA-HNG config (default: :data:`DEFAULT_CONFIG`) and its
    baseline."""
    config = args.config or DEFAULT_CONFIG
    if not osp.exists(config):
        raise SystemExit(f'config not found: {config}')
    baseline = args.baseline or baseline_twin(config)
    if not osp.exists(baseline):
        raise SystemExit(f'baseline config not found: {baseline} (pass '
                         '--baseline)')
    return dict(config=config, baseline=baseline)


def _fmt(seconds: Optional[float]) -> str:
    return 'n/a' if seconds is None else f'{seconds:.4f} s'


def report(result: dict, configs: Dict[str, str], device: str) -> str:
    """The printed summary; its last line is ``RESULT hng_overhead=…``."""
    hng, base, summary = (result['gcahng'], result['baseline'],
                          result['summary'])
    lines = [
        f'device:   {device_name(device)}',
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
                     f'{format_bytes(r["peak_mem_bytes"]):>14s}')
    lines.append('')
    lines.append(f'HNG overhead (train step ratio): '
                 f'{summary["hng_overhead"]:.3f}')
    if 'hng_s' in summary:
        lines.append(f'HNG machinery alone (cached-feature step difference): '
                     f'{summary["hng_s"]:.4f} s = '
                     f'{100 * summary["head_share"]:.1f}% of the GCA-HNG '
                     'step')
    if 'infer_ratio' in summary:
        lines.append(f'inference ratio: {summary["infer_ratio"]:.3f}')
    lines.append(f'RESULT hng_overhead={summary["hng_overhead"]:.4f}')
    return '\n'.join(lines)


def main(argv: Optional[list] = None) -> None:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    configs = resolve_configs(args)
    result = compare_train_step(
        load_config(configs['config'], args.cfg_options),
        configs['baseline'],
        inference=not args.no_inference,
        **bench_kwargs(args))
    print(report(result, configs, args.device))


if __name__ == '__main__':
    main()
