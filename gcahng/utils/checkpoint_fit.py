"""The one way a checkpoint gets into a model: read, unwrap, check, load.

:func:`load_checkpoint` is the path every tool and API takes (the analysis
tools, search, embedding and export through ``ImageSearcher``, the model
converter's check); ``tools/train.py`` and ``tools/test.py`` let MMEngine's
Runner load (it restores optimiser and loop state too) after the same read
and check (:func:`check_checkpoint_fits`). The steps, each in one function:
:func:`read_checkpoint` (the file, through the weights-only unpickler with
our allow-list, :func:`gcahng.utils.safe_torch_load`), :func:`state_dict_of`
(the state dict, model-wrapper ``module.`` segments removed by
:func:`unwrapped_key`, the one reading of them, which the model's own
load hook shares), :func:`check_state_fits` (the fit, one error class
:class:`CheckpointMismatchError` with one message format,
:func:`mismatch_message`).

A checkpoint must fit the model: strict loading with one clear error.

MMEngine loads ``load_from`` checkpoints (and ``tools/test.py``'s) with
``strict=False``: a checkpoint of another architecture gives a page of
``size mismatch`` warnings and a run on random weights that exits 0. Here
the metric model is checked first: every key of the model must be in the
checkpoint with its shape, and the checkpoint may hold nothing else. Only
training-only parts (:data:`OPTIONAL_PREFIXES`: the graph head, the
classifier, the generator, the metric loss's proxies, the memory and
``L_syn``'s gate) may be missing, as they are from an inference
checkpoint. A partial load is still possible on request:
``tools/test.py --non-strict``, or ``load_strict = False`` in the config
(``--cfg-options load_strict=False``) for ``load_from``.

Search, embedding and export run the backbone and the neck only
(:data:`INFERENCE_PREFIXES`): :func:`split_inference_state` keeps those
keys, which must then fit strictly, and sets the others aside (the graph
head, classifier, generator and proxies, whose shapes follow the training
set's classes), so that a checkpoint serves any config of its architecture.
"""
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch.nn as nn
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner.checkpoint import get_state_dict, load_state_dict

from .cli import UserError
from .memory_errors import memory_size_error
from .safe_globals import safe_torch_load

#: Training state that a model without it drops from a checkpoint without
#: complaint (the attribute, and so the key prefix, of each): the memory of
#: past embeddings (docs/algorithm.md §10) and L_syn's node-accuracy gate
#: (§7).
DROPPABLE_STATE = ('memory', 'syn_gate')

#: Training-only parts an inference checkpoint may lack: the graph head, h₁,
#: the generator, the proxies and the droppable state.
OPTIONAL_PREFIXES = ('graph_head.', 'classifier.', 'generator.',
                     'loss_metric.') + tuple(f'{name}.'
                                             for name in DROPPABLE_STATE)

#: The modules that embed an image (``gcahng.apis.EmbeddingModel``).
INFERENCE_PREFIXES: Tuple[str, ...] = ('backbone.', 'neck.')


class CheckpointMismatchError(UserError, RuntimeError):
    """The checkpoint does not fit the model (one-line message)."""


WRAPPER_SEGMENT = 'module.'


def unwrapped_key(key: str) -> str:
    """``key`` without model wrappers' ``module.`` segments: the leading one
    of a wrapped model (``module.backbone.conv1.weight``) and the one after
    a separately wrapped child (``backbone.module.conv1.weight``, written by
    ``MMSeparateDistributedDataParallel``). A ``module.`` deeper down is a
    submodule's real name and stays."""
    if key.startswith(WRAPPER_SEGMENT):
        key = key[len(WRAPPER_SEGMENT):]
    head, dot, rest = key.partition('.')
    if dot and rest.startswith(WRAPPER_SEGMENT):
        key = f'{head}.{rest[len(WRAPPER_SEGMENT):]}'
    return key


def state_dict_of(content: Any) -> Dict[str, Any]:
    """The state dict of a loaded checkpoint (``content['state_dict']``,
    the ``'model'`` or ``'model_state_dict'`` entry of other trainers'
    files, or ``content`` itself), with wrapper ``module.`` segments
    removed (:func:`unwrapped_key`)."""
    for key in ('state_dict', 'model', 'model_state_dict'):
        if isinstance(content, dict) and isinstance(content.get(key), dict):
            content = content[key]
            break
    return {unwrapped_key(k): v for k, v in content.items()}


def split_inference_state(
    state: Dict[str, Any],
    prefixes: Sequence[str] = INFERENCE_PREFIXES
) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """``state`` (from :func:`state_dict_of`) split into the keys under
    ``prefixes`` (the backbone and neck) and all others."""
    kept = {k: v for k, v in state.items() if k.startswith(tuple(prefixes))}
    return kept, {k: v for k, v in state.items() if k not in kept}


def describe_modules(keys: Sequence[str]) -> str:
    """``'classifier (2), graph_head (40), avg_metric_loss'``: the top-level
    modules of ``keys`` with their tensor counts, sorted."""
    counts: Dict[str, int] = {}
    for key in keys:
        top = key.split('.', 1)[0]
        counts[top] = counts.get(top, 0) + 1
    return ', '.join(f'{top} ({n})' if n > 1 else top
                     for top, n in sorted(counts.items()))


def _first(keys: Sequence[str], n: int = 3) -> str:
    more = f', ... (+{len(keys) - n})' if len(keys) > n else ''
    return ', '.join(keys[:n]) + more


def checkpoint_mismatch(
    model: nn.Module,
    state: Dict[str, Any],
    optional_prefixes: Sequence[str] = OPTIONAL_PREFIXES
) -> Tuple[List[str], List[str], List[str]]:
    """Missing, unexpected and mis-shaped keys of ``state`` for ``model``.

    Keys of ``model`` under ``optional_prefixes`` may be missing. Returns
    three sorted lists; mis-shaped entries read ``'key: checkpoint (a, b)
    vs model (c, d)'``.
    """
    if is_model_wrapper(model):  # DDP and other wrappers
        model = model.module
    own = {unwrapped_key(k): v for k, v in get_state_dict(model).items()}
    state = {unwrapped_key(k): v for k, v in state.items()}
    missing = sorted(
        k for k in own
        if k not in state and not k.startswith(tuple(optional_prefixes)))
    # a model without memory (or gate) drops a checkpoint's
    # (docs/algorithm.md §10, §7); a memory of another size is refused with
    # the fix
    dropped = tuple(f'{name}.' for name in DROPPABLE_STATE
                    if not any(k.startswith(f'{name}.') for k in own))
    unexpected = sorted(
        k for k in state if k not in own and not k.startswith(dropped))
    has_memory = 'memory.feats' in own
    if has_memory and 'memory.feats' in state and \
            state['memory.feats'].shape[0] != own['memory.feats'].shape[0]:
        raise memory_size_error(state['memory.feats'].shape[0],
                                own['memory.feats'].shape[0])
    shapes = []
    for k in sorted(set(own) & set(state)):
        a, b = getattr(state[k], 'shape', None), own[k].shape
        if a is not None and tuple(a) != tuple(b):
            shapes.append(f'{k}: checkpoint {tuple(a)} vs model {tuple(b)}')
    return missing, unexpected, shapes


def check_checkpoint_fits(
        model: nn.Module,
        path: str,
        strict: bool = True,
        allow_flag: Optional[str] = '--non-strict',
        optional_prefixes: Sequence[str] = OPTIONAL_PREFIXES) -> None:
    """Raise :class:`CheckpointMismatchError` unless ``path`` fits ``model``.

    Args:
        model (nn.Module): The (unwrapped) model the checkpoint is for.
        path (str): The checkpoint file (read with the weights-only
            unpickler).
        strict (bool): ``False`` accepts any partial fit (nothing checked).
        allow_flag (str, optional): How the user asks for a partial load,
            named in the error (None: there is no such way).
        optional_prefixes (Sequence[str]): Model keys that may be missing.
    """
    if strict:
        state, _ = read_checkpoint(path)
        check_state_fits(model, state, path, allow_flag, optional_prefixes)


def read_checkpoint(path: str) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """The state dict (:func:`state_dict_of`) and ``meta`` of the
    checkpoint file ``path``, read with the weights-only unpickler.

    Raises:
        FileNotFoundError: if there is no such file.
        UnsafeCheckpointError: if it holds objects the allow-list refuses.
        CheckpointMismatchError: if it holds no state dict.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'no checkpoint file at {path}')
    content = safe_torch_load(path, map_location='cpu')
    if not isinstance(content, dict):
        raise CheckpointMismatchError(f'{path} holds no state dict')
    meta = content.get('meta', {})
    return state_dict_of(content), meta if isinstance(meta, dict) else {}


def load_checkpoint(model: nn.Module,
                    path: str,
                    strict: bool = True,
                    prefixes: Optional[Sequence[str]] = None,
                    optional_prefixes: Sequence[str] = OPTIONAL_PREFIXES,
                    allow_flag: Optional[str] = '--non-strict',
                    source: Optional[str] = None,
                    hint: str = '') -> Dict[str, Any]:
    """Load the checkpoint file ``path`` into ``model``: the one path.

    Read safely and unwrapped (:func:`read_checkpoint`), keep the keys under
    ``prefixes`` if given (the rest is skipped, said in one logged line),
    check the fit (:func:`check_state_fits`, unless ``strict=False``), load.

    Args:
        model (nn.Module): The model (a wrapper's ``module`` is loaded).
        path (str): The checkpoint file.
        strict (bool): ``False`` loads whatever part fits.
        prefixes (Sequence[str], optional): Load only these top-level
            modules (e.g. :data:`INFERENCE_PREFIXES`).
        optional_prefixes (Sequence[str]): Model keys that may be missing.
        allow_flag (str, optional): How the user asks for a partial load,
            named in the error.
        source (str, optional): How the error names the checkpoint
            (default ``path``).
        hint (str): A sentence the error ends with (the likely cause).

    Returns:
        dict: The checkpoint's ``meta`` (empty if it has none).
    """
    if is_model_wrapper(model):
        model = model.module
    state, meta = read_checkpoint(path)
    skipped: Dict[str, Any] = {}
    if prefixes is not None:
        state, skipped = split_inference_state(state, prefixes)
    if strict:
        check_state_fits(model, state, source or path, allow_flag,
                         optional_prefixes, hint)
    load_state_dict(model, state, strict=False, logger='silent')
    if skipped:
        print_log(
            f'{path}: loaded {", ".join(p.rstrip(".") for p in prefixes)}; '
            f'skipped {len(skipped)} tensors of other modules '
            f'({describe_modules(list(skipped))})',
            logger='current')
    return meta


def check_state_fits(model: nn.Module,
                     state: Dict[str, Any],
                     source: str,
                     allow_flag: Optional[str] = '--non-strict',
                     optional_prefixes: Sequence[str] = OPTIONAL_PREFIXES,
                     hint: str = '') -> None:
    """:func:`check_checkpoint_fits` for a checkpoint already read
    (``state`` from :func:`state_dict_of`; ``source`` names it in the
    error), so that a caller that loads it reads the file once."""
    missing, unexpected, shapes = checkpoint_mismatch(model, state,
                                                      optional_prefixes)
    if missing or unexpected or shapes:
        raise CheckpointMismatchError(
            mismatch_message(source, missing, unexpected, shapes,
                             optional_prefixes, allow_flag, hint))


def mismatch_message(source: str,
                     missing: Sequence[str],
                     unexpected: Sequence[str],
                     shapes: Sequence[str],
                     optional_prefixes: Sequence[str] = OPTIONAL_PREFIXES,
                     allow_flag: Optional[str] = '--non-strict',
                     hint: str = '') -> str:
    """The one-line message of a checkpoint that does not fit: counts and
    the first keys of each kind of mismatch, what may be absent, how to load
    anyway, and ``hint``."""
    parts = []
    for name, keys in (('missing', missing), ('unexpected', unexpected),
                       ('mis-shaped', shapes)):
        if keys:
            parts.append(f'{len(keys)} {name} ({_first(keys)})')
    optional = (f'; training-only keys ({", ".join(optional_prefixes)}) may '
                'be absent' if optional_prefixes else '')
    allow = (f'; {allow_flag} loads the matching part anyway'
             if allow_flag else '')
    return (f'{source} does not fit the model: ' + ', '.join(parts) +
            optional + allow + (f'. {hint}' if hint else ''))
