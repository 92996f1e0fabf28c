"""A checkpoint must fit the model: strict loading with one clear error.

MMEngine loads ``load_from`` checkpoints (and ``tools/test.py``'s) with
``strict=False``: a checkpoint of another architecture gives a page of
``size mismatch`` warnings and a run on random weights that exits 0. Here
the metric model is checked first: every key of the model must be in the
checkpoint with its shape, and the checkpoint may hold nothing else. Only
training-only parts (:data:`OPTIONAL_PREFIXES`: the graph head, the
classifier, the generator and the metric loss's proxies) may be missing,
as they are from an inference checkpoint. A partial load is still possible
on request: ``tools/test.py --non-strict``, or ``load_strict = False`` in
the config (``--cfg-options load_strict=False``) for ``load_from``.

Search, embedding and export run the backbone and the neck only
(:data:`INFERENCE_PREFIXES`): :func:`split_inference_state` keeps those
keys, which must then fit strictly, and sets the others aside (the graph
head, classifier, generator and proxies, whose shapes follow the training
set's classes), so that a checkpoint serves any config of its architecture.
"""
import re
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch.nn as nn
from mmengine.model import is_model_wrapper
from mmengine.runner.checkpoint import get_state_dict

from .cli import UserError
from .safe_globals import safe_torch_load

#: Training-only parts an inference checkpoint may lack (``memory.``: the
#: memory of past embeddings, docs/algorithm.md §10).
OPTIONAL_PREFIXES: Tuple[str, ...] = ('graph_head.', 'classifier.',
                                      'generator.', 'loss_metric.', 'memory.')

#: The modules that embed an image (``gcahng.apis.EmbeddingModel``).
INFERENCE_PREFIXES: Tuple[str, ...] = ('backbone.', 'neck.')


class CheckpointMismatchError(UserError, RuntimeError):
    """The checkpoint does not fit the model (one-line message)."""


def _unwrapped(key: str) -> str:
    """``key`` without DDP wrappers' ``module.`` segments (checkpoints of
    separately wrapped submodules hold ``backbone.module.conv1.weight``)."""
    return re.sub(r'(^|\.)module\.', r'\1', key)


def state_dict_of(content: Any) -> Dict[str, Any]:
    """The state dict of a loaded checkpoint (``content['state_dict']`` or
    ``content`` itself), with DDP ``module.`` segments removed."""
    if isinstance(content, dict) and isinstance(
            content.get('state_dict'), dict):
        content = content['state_dict']
    return {_unwrapped(k): v for k, v in content.items()}


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


def _first(keys: List[str], n: int = 3) -> str:
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
    own = {_unwrapped(k): v for k, v in get_state_dict(model).items()}
    state = {_unwrapped(k): v for k, v in state.items()}
    missing = sorted(
        k for k in own
        if k not in state and not k.startswith(tuple(optional_prefixes)))
    # a model without memory drops a checkpoint's memory (docs/algorithm.md
    # §10); one of another size is refused with the fix
    has_memory = 'memory.feats' in own
    unexpected = sorted(
        k for k in state
        if k not in own and (has_memory or not k.startswith('memory.')))
    if has_memory and 'memory.feats' in state and \
            state['memory.feats'].shape[0] != own['memory.feats'].shape[0]:
        from gcahng.models.utils.embedding_memory import memory_size_error
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
        state = state_dict_of(safe_torch_load(path, map_location='cpu'))
        check_state_fits(model, state, path, allow_flag, optional_prefixes)


def check_state_fits(
        model: nn.Module,
        state: Dict[str, Any],
        source: str,
        allow_flag: Optional[str] = '--non-strict',
        optional_prefixes: Sequence[str] = OPTIONAL_PREFIXES) -> None:
    """:func:`check_checkpoint_fits` for a checkpoint already read
    (``state`` from :func:`state_dict_of`; ``source`` names it in the
    error), so that a caller that loads it reads the file once."""
    if is_model_wrapper(model):  # DDP and other wrappers
        model = model.module
    missing, unexpected, shapes = checkpoint_mismatch(model, state,
                                                      optional_prefixes)
    if not (missing or unexpected or shapes):
        return
    parts = []
    for name, keys in (('missing', missing), ('unexpected', unexpected),
                       ('mis-shaped', shapes)):
        if keys:
            parts.append(f'{len(keys)} {name} ({_first(keys)})')
    optional = (f'; training-only keys ({", ".join(optional_prefixes)}) may '
                'be absent' if optional_prefixes else '')
    allow = (f'; {allow_flag} loads the matching part anyway'
             if allow_flag else '')
    raise CheckpointMismatchError(f'{source} does not fit the model: ' +
                                  ', '.join(parts) + optional + allow)
