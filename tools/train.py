"""Train a model: ``python tools/train.py CONFIG [--work-dir DIR] ...``.

A ``load_from`` checkpoint must fit the model (training-only parts may be
missing); ``--cfg-options load_strict=False`` allows a partial load.

The OpenMMLab ``tools/train.py``: the config is merged with the command
line and handed to MMEngine's Runner. ``tools/dist_train.sh`` runs it with
torchrun and ``--launcher pytorch``; with several processes the config's
``N x M`` batch is then split over them and trained as one batch
(the configs' ``GlobalBatchSampler`` deals it, the model gathers it:
``model.global_batch``, default True; docs/algorithm.md §9).
A known user error (dataset layout, weights, checkpoint, config) prints
one message; ``--debug`` shows the traceback.
"""
import argparse

from mmengine.config import Config
from mmengine.runner import Runner

import gcahng  # noqa: F401  (safe checkpoint globals, registries)
from gcahng.utils import (add_runner_args, apply_runner_args,
                          check_checkpoint_fits, check_config, enable_amp,
                          parse_runner_args, run_tool, setup_cpu_distributed,
                          teardown_distributed)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a gcahng model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from this checkpoint, or without a value from the '
        'latest checkpoint in the work dir')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='mixed precision training (AmpOptimWrapper for every '
        'optimiser)')
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='do not evaluate checkpoints during training')
    add_runner_args(parser)
    return parse_runner_args(parser)


def add_schedule_from_config_hook(cfg: Config) -> None:
    """On a resume, make the restored LR schedules the config's (a changed
    ``max_epochs``/``T_max``/``end``... would otherwise be ignored)."""
    hooks = list(cfg.get('custom_hooks', None) or [])
    if not any(h.get('type') == 'ScheduleFromConfigHook' for h in hooks):
        hooks.append(dict(type='ScheduleFromConfigHook'))
    cfg.custom_hooks = hooks


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    cfg = apply_runner_args(cfg, args)
    if args.amp:
        enable_amp(cfg)
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    if cfg.get('resume', False):
        add_schedule_from_config_hook(cfg)
    if args.no_validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    return cfg


def main() -> None:
    args = parse_args()
    cfg = merge_args(Config.fromfile(args.config), args)
    check_config(cfg)
    setup_cpu_distributed(cfg)
    runner = Runner.from_cfg(cfg)
    if cfg.get('load_from') and not cfg.get('resume', False):
        check_checkpoint_fits(
            runner.model,
            cfg.load_from,
            strict=cfg.get('load_strict', True),
            allow_flag='--cfg-options load_strict=False')
    runner.train()
    del runner  # before the process group goes (teardown_distributed)
    teardown_distributed()


if __name__ == '__main__':
    run_tool(main)
