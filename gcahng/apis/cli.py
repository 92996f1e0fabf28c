"""The model arguments that ``tools/retrieve.py``, ``tools/embed.py`` and
``tools/deployment/pytorch2onnx.py`` share, and the searcher they build; the
run arguments the analysis tools share."""
import argparse

from mmengine.config import DictAction

from .image_searcher import ImageSearcher


def add_model_arguments(parser: argparse.ArgumentParser,
                        loader: bool = True) -> argparse.ArgumentParser:
    """``CONFIG CHECKPOINT [--non-strict] [--cfg-options ...]`` and, with
    ``loader``, ``--device --batch-size --num-workers``."""
    parser.add_argument('config', help='the model\'s config file')
    parser.add_argument(
        'checkpoint',
        help='the model\'s checkpoint (a training, inference or converted '
        'official one)')
    if loader:
        parser.add_argument(
            '--device', help='cpu, cuda, cuda:1 (default: CUDA if any)')
        parser.add_argument(
            '--batch-size', type=int, help='default: the config\'s test one')
        parser.add_argument(
            '--num-workers',
            type=int,
            help='loader workers (default: the config\'s test loader\'s)')
    parser.add_argument(
        '--non-strict',
        action='store_true',
        help='load a checkpoint whose backbone or neck only partly fits the '
        'config\'s model (by default they must fit; the training-only '
        'modules are never loaded)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, xxx=yyy format')
    return parser


def add_analysis_arguments(
    parser: argparse.ArgumentParser,
    tool: str,
    cfg_options_help: str = 'override settings of the config, xxx=yyy '
    'format'
) -> argparse.ArgumentParser:
    """``--batch-size --device --out-dir --work-dir --cfg-options`` of the
    analysis tools (``tools/analysis_tools``); ``tool`` names the default
    output folder, ``<work dir>/analysis/<tool>``."""
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--device', help='e.g. cpu, cuda:0 (default: auto)')
    parser.add_argument(
        '--out-dir',
        help=f'output folder (default: <work dir>/analysis/{tool})')
    parser.add_argument('--work-dir', help='work dir of the run')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, help=cfg_options_help)
    return parser


def searcher_from_args(args: argparse.Namespace, **kwargs) -> ImageSearcher:
    """The :class:`ImageSearcher` of :func:`add_model_arguments`' options
    (``kwargs`` override them)."""
    options = dict(
        device=getattr(args, 'device', None),
        batch_size=getattr(args, 'batch_size', None),
        num_workers=getattr(args, 'num_workers', None),
        cfg_options=args.cfg_options,
        strict=not args.non_strict)
    options.update(kwargs)
    return ImageSearcher(args.config, args.checkpoint, **options)
