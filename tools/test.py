"""Evaluate a checkpoint: ``python tools/test.py CONFIG CHECKPOINT``.

Embeds the config's test set, prints R@K, R-Precision and MAP@R
(docs/algorithm.md §8) and, with ``--out``, dumps the metrics as JSON. A
known user error prints one message; ``--debug`` shows the traceback.
"""
import argparse
import json
import os.path as osp

from mmengine.config import Config
from mmengine.runner import Runner

import gcahng  # noqa: F401  (safe checkpoint globals, registries)
from gcahng.utils import (add_runner_args, apply_runner_args,
                          check_checkpoint_fits, check_config,
                          parse_runner_args, run_tool, setup_cpu_distributed,
                          teardown_distributed)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Evaluate a gcahng checkpoint on the test set')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--non-strict',
        action='store_true',
        help='load a checkpoint that only partly fits the model (missing, '
        'unexpected or mis-shaped keys); by default it must fit, except for '
        'the training-only graph_head., classifier., generator. and '
        'loss_metric. keys')
    parser.add_argument('--out', help='write the metrics to this JSON file')
    add_runner_args(parser)
    return parse_runner_args(parser)


def main() -> None:
    args = parse_args()
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'no checkpoint at {args.checkpoint}')
    cfg = apply_runner_args(Config.fromfile(args.config), args)
    check_config(cfg)
    cfg.load_from = args.checkpoint
    cfg.resume = False
    setup_cpu_distributed(cfg)
    runner = Runner.from_cfg(cfg)
    check_checkpoint_fits(
        runner.model, args.checkpoint, strict=not args.non_strict)
    metrics = runner.test()
    if args.out and runner.rank == 0:
        with open(args.out, 'w') as f:
            json.dump(metrics, f, indent=2)
    del runner  # before the process group goes (teardown_distributed)
    teardown_distributed()


if __name__ == '__main__':
    run_tool(main)
