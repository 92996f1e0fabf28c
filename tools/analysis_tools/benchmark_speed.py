"""Training and inference speed of GCA-HNG against its baseline (Table 7).

``python tools/analysis_tools/benchmark_speed.py CONFIG``

Seconds per training iteration and per inference batch for the GCA-HNG
config and its baseline twin (``configs/gcahng/X`` →
``configs/baselines/X``, or ``--baseline``) on the same device and batch
(the config's ``N x M`` in the group order of docs/algorithm.md §1,
random images of the config's crop size or ``--img-size``), with the
timing core :mod:`gcahng.utils.speed` shared with ``benchmarks/train_step.py``
(medians after warm-up, pretrained weights off, no data loading).

Printed as a Markdown table; written to ``--out-dir`` (default
``work_dirs/benchmark_speed/<config name>``):

- ``speed.csv``: one row per method (``method``, ``train_s_per_iter``,
  ``infer_s_per_batch``, ``peak_train_mem_mib``, ``train_ratio``,
  ``infer_ratio``);
- ``speed.json``: the same rows plus the settings, the device, the
  per-iteration times, the cached-feature step times and the HNG summary
  (see :func:`gcahng.utils.speed.compare_train_step`);
- ``speed.md``: the Markdown table.

Paper Table 7 (ResNet-50, RTX 3090): 0.29 s/iter with GCA-HNG vs 0.22
s/iter for the baseline, inference unchanged.
"""
import argparse
import csv
import json
import os
import os.path as osp
from typing import Optional, Sequence

import torch

from gcahng.utils.speed import (add_benchmark_args, baseline_twin,
                                bench_kwargs, compare_train_step, device_name,
                                load_config, markdown_table, table_rows)

CSV_FIELDS = ('method', 'train_s_per_iter', 'infer_s_per_batch',
              'peak_train_mem_mib', 'train_ratio', 'infer_ratio')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command line of the tool."""
    parser = argparse.ArgumentParser(
        prog='benchmark_speed.py',
        description='Seconds per training iteration and per inference '
        'batch, GCA-HNG vs its baseline (paper Table 7).')
    parser.add_argument('config', help='GCA-HNG config')
    parser.add_argument(
        '--out-dir',
        help='output folder (default: work_dirs/benchmark_speed/<config>)')
    add_benchmark_args(parser)
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Run the benchmark; returns what ``speed.json`` holds."""
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    baseline = args.baseline or baseline_twin(args.config)
    for path in (args.config, baseline):
        if not osp.exists(path):
            raise SystemExit(f'config not found: {path}')
    out_dir = args.out_dir or osp.join(
        'work_dirs', 'benchmark_speed',
        osp.splitext(osp.basename(args.config))[0])
    result = compare_train_step(
        load_config(args.config, args.cfg_options), baseline,
        **bench_kwargs(args))
    rows = table_rows(result)
    hng = result['gcahng']
    settings = {
        key: hng[key]
        for key in ('batch_size', 'num_classes', 'num_per_class', 'img_size',
                    'device', 'amp', 'compile', 'num_iters', 'warmup')
    }
    settings.update(
        config=args.config,
        baseline=baseline,
        device_name=device_name(args.device),
        mem_kind=hng['mem_kind'],
        cfg_options=args.cfg_options)
    table = markdown_table(rows)
    header = (f'{settings["device_name"]}; batch {hng["num_classes"]} x '
              f'{hng["num_per_class"]} = {hng["batch_size"]}, '
              f'{hng["img_size"]} px; amp {"on" if args.amp else "off"}; '
              f'compile {args.compile or "off"}; median of {args.iters} '
              f'iterations after {args.warmup} warm-up')
    print(header)
    print()
    print(table)

    os.makedirs(out_dir, exist_ok=True)
    with open(osp.join(out_dir, 'speed.csv'), 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=CSV_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    with open(osp.join(out_dir, 'speed.md'), 'w') as f:
        f.write(header + '\n\n' + table + '\n')
    summary = dict(
        settings=settings,
        rows=rows,
        summary=result['summary'],
        gcahng=result['gcahng'],
        baseline=result['baseline'])
    with open(osp.join(out_dir, 'speed.json'), 'w') as f:
        json.dump(summary, f, indent=2, default=str)
    print(f'\nwritten: {osp.join(out_dir, "speed.csv")}, speed.json, '
          'speed.md')
    return summary


if __name__ == '__main__':
    main()
