"""Known user errors print one clear message in the tools, not a traceback.

Every error a user can fix by changing their files or command line (a
dataset that does not match its layout, missing pretrained weights, a
checkpoint that does not fit or is unsafe, a config naming an unknown type
or argument, a missing file) is reported by the tools in ``tools/`` as
``<tool>: error: <message>`` on stderr with exit status 1. ``--debug`` on
any tool's command line shows the full traceback instead.
"""
import argparse
import os
import os.path as osp
import sys
from typing import Any, Callable, List, Optional

from mmengine.config import Config, DictAction


class UserError(Exception):
    """Base of the errors that a user can fix; tools print them in one
    message without a traceback (see :func:`run_tool`)."""


class AnalysisError(UserError, RuntimeError):
    """A problem a tool reports in one line, without a stack trace: a
    missing file, a bad argument, a config without the part asked for, a
    figure that cannot be drawn."""


def is_user_error(error: BaseException) -> bool:
    """Whether ``error`` is a known user error rather than a bug.

    By type alone: :class:`UserError` (dataset layout, pretrained weights,
    checkpoint fit and safety, non-finite loss, and a config's unknown type
    or argument, :class:`~gcahng.utils.config_check.ConfigError`, which the
    tools check before building) and a missing file. Any other error,
    mmengine's own ``KeyError``/``TypeError`` from a build included, is
    shown with its traceback.
    """
    return isinstance(error, (UserError, FileNotFoundError))


def run_tool(main: Callable[[], Any]) -> None:
    """Run a tool's ``main()`` and exit with its status.

    The status is ``main()``'s return value when that is an int, else 0:
    tools' ``main`` functions may return a summary (a dict) for their
    in-process callers, which must not become the exit status (``sys.exit``
    would print it on stderr and exit 1). A known user error
    (:func:`is_user_error`) ends the tool with its message on one line of
    stderr and exit status 1; everything else raises as usual.
    ``--debug`` anywhere on the command line is removed before ``main``
    parses it and lets every error raise with its traceback.
    """
    debug = '--debug' in sys.argv[1:]
    if debug:
        sys.argv = [a for a in sys.argv if a != '--debug']
    try:
        status = main()
    except Exception as error:  # noqa: B902
        if debug or not is_user_error(error):
            raise
        tool = osp.basename(sys.argv[0])
        print(
            f'{tool}: error: {str(error) or type(error).__name__} '
            '(run again with --debug for the traceback)',
            file=sys.stderr)
        sys.exit(1)
    sys.exit(status if isinstance(status, int) else 0)


def add_runner_args(parser: argparse.ArgumentParser) -> None:
    """The arguments every Runner tool (train, test) shares: ``--work-dir``,
    ``--cfg-options``, ``--launcher`` and torchrun's ``--local-rank``."""
    parser.add_argument(
        '--work-dir', help='the dir to save logs (and models, training)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, xxx=yyy format')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def parse_runner_args(parser: argparse.ArgumentParser,
                      argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line of a tool built with :func:`add_runner_args`
    (``LOCAL_RANK`` from ``--local-rank`` when the launcher did not set
    it)."""
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def apply_runner_args(cfg: Config, args: argparse.Namespace) -> Config:
    """The config with the command line's launcher, ``--cfg-options`` and
    work dir (``./work_dirs/<config name>`` when neither sets one)."""
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    cfg.work_dir = resolve_work_dir(cfg, args.config, args.work_dir)
    return cfg


def resolve_work_dir(cfg: Config,
                     config_path: str,
                     work_dir: Optional[str] = None) -> str:
    """A run's work dir: ``work_dir`` (``--work-dir``) if given, else the
    config's ``work_dir``, else ``./work_dirs/<config name>``; the one rule
    of the training, test and analysis tools."""
    if work_dir is not None:
        return work_dir
    if cfg.get('work_dir', None) is not None:
        return cfg.work_dir
    return osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])
