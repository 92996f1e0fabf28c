"""Let ``torch.load(weights_only=True)`` read MMEngine checkpoints.

Since torch 2.6 ``torch.load`` defaults to ``weights_only=True`` and
MMEngine 0.10.7 calls it without the argument, so ``--resume``,
``load_from`` and ``tools/test.py`` fail on the non-tensor objects that
MMEngine stores next to the weights. Instead of turning ``weights_only``
off (which would let a checkpoint run arbitrary code), we allow-list
exactly the globals our checkpoints contain, found by saving and loading
real checkpoints (``tests/test_checkpoint.py`` repeats the experiment):

- ``mmengine.logging.HistoryBuffer``: the message hub's logged scalars;
- ``builtins.getattr``, but only as :func:`history_buffer_getattr`: a
  HistoryBuffer pickles its statistics methods (the functions ``min``,
  ``max``, ``mean``, ... of its ``statistics_methods``) as
  ``getattr(HistoryBuffer, 'min')`` (pickle protocol 2 and a nested
  qualified name). The real ``getattr`` would
  let a crafted file walk from an allowed object to anything (``__init__``
  -> ``__globals__`` -> ...), so the name resolves to a stand-in that only
  looks up a registered statistics method of a HistoryBuffer;
- numpy's ``ndarray``, ``dtype``, ``_reconstruct`` and ``scalar`` and the
  ``Float64DType``/``Int64DType`` classes: the buffers' numpy arrays and the
  numpy scalars in the runtime info.

Anything else in a checkpoint is still refused, with one line of our own
(:class:`UnsafeCheckpointError`, :func:`safe_torch_load`) instead of torch's
text, which suggests ``weights_only=False``: that would run the file's code.
:func:`register_safe_globals` also makes mmengine's local checkpoint loader
(``load_from``, ``--resume``, ``tools/test.py``, backbone ``pretrained``
files) go through :func:`safe_torch_load`.
"""
import importlib
import os.path as osp
import pickle
import re
from typing import Any, List, Optional

import numpy as np
import torch

from .cli import UserError

_NUMPY_MULTIARRAY = ('numpy._core.multiarray', 'numpy.core.multiarray')


def _numpy_multiarray(name: str) -> Any:
    for module in _NUMPY_MULTIARRAY:
        try:
            return getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            continue
    raise ImportError(f'numpy has no multiarray.{name}')


#: HistoryBuffer's built-in statistics; its ``_statistics_methods`` holds them
#: only once a buffer has been made (custom ones once registered).
HISTORY_BUFFER_STATISTICS = frozenset({'min', 'max', 'current', 'mean'})


def history_buffer_getattr(obj: Any, name: str) -> Any:
    """``getattr(HistoryBuffer, name)`` for its statistics methods only.

    Stands in for ``builtins.getattr`` in the weights-only unpickler, which
    is all a HistoryBuffer's pickle needs (``getattr(HistoryBuffer,
    'mean')``); anything else raises :class:`pickle.UnpicklingError`.
    """
    from mmengine.logging import HistoryBuffer
    if (obj is HistoryBuffer and isinstance(name, str)
            and (name in HISTORY_BUFFER_STATISTICS
                 or name in HistoryBuffer._statistics_methods)):
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'Unsupported global: GLOBAL builtins.getattr('
        f'{getattr(obj, "__qualname__", type(obj).__qualname__)}, {name!r})')


class UnsafeCheckpointError(UserError, pickle.UnpicklingError):
    """A checkpoint holds an object the weights-only unpickler refuses.

    The message names the object, warns that the file may run code and says
    how to convert a trusted file; it never suggests ``weights_only=False``
    for untrusted files, as torch's own text does.
    """


#: Re-save a trusted file as plain tensors (named in the refusal).
CONVERT_HINT = (
    'python -c "import torch; c = torch.load(\'{src}\', weights_only=False)'
    '; torch.save({{\'state_dict\': c.get(\'state_dict\', c)}}, '
    '\'{src}.weights.pth\')"')


def _refused_object(error: Exception) -> str:
    text = str(error)
    found = re.search(r'GLOBAL ([\w.]+(?:\([^)]*\))?)', text)
    if found:
        return found.group(1).rstrip('.')
    found = re.search(r'function ([\w.<>]+)', text)
    if found:
        return found.group(1)
    return text.strip().splitlines()[0][:120] if text.strip() else 'unknown'


def unsafe_checkpoint_message(path: str, error: Exception) -> str:
    """One line: what was refused in ``path``, why, how to convert it."""
    return (f'refused to load {path}: it contains {_refused_object(error)}, '
            'which is not allowed in a checkpoint (unpickling it may run '
            'code). Only if you trust the file, convert it once with: ' +
            CONVERT_HINT.format(src=path))


def safe_torch_load(path: str, map_location: Optional[Any] = None) -> Any:
    """``torch.load(path, weights_only=True)`` with our own refusal.

    Raises:
        UnsafeCheckpointError: The file holds an object outside
            :func:`checkpoint_safe_globals` (and any ``safe_globals``
            context); nothing in it has been run.
    """
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        if isinstance(e, UnsafeCheckpointError):
            raise
        raise UnsafeCheckpointError(unsafe_checkpoint_message(str(path),
                                                              e)) from None


def _load_from_local(filename: str, map_location: Optional[Any]) -> Any:
    """mmengine's local checkpoint loader through :func:`safe_torch_load`."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    return safe_torch_load(filename, map_location=map_location)


def checkpoint_safe_globals() -> List[Any]:
    """The objects allow-listed for ``torch.load(weights_only=True)``;
    ``(stand-in, 'builtins.getattr')`` is :func:`history_buffer_getattr`."""
    from mmengine.logging import HistoryBuffer
    safe: List[Any] = [
        HistoryBuffer,
        (history_buffer_getattr, 'builtins.getattr'),
        np.ndarray,
        np.dtype,
        _numpy_multiarray('_reconstruct'),
        _numpy_multiarray('scalar'),
    ]
    dtypes = getattr(np, 'dtypes', None)  # numpy >= 1.25
    if dtypes is not None:
        safe += [dtypes.Float64DType, dtypes.Int64DType]
    return safe


def register_safe_globals() -> None:
    """Allow-list :func:`checkpoint_safe_globals` and route mmengine's
    local checkpoint loading through :func:`safe_torch_load` (idempotent)."""
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is not None:  # torch < 2.4 has no weights_only default to fix
        add(checkpoint_safe_globals())
    from mmengine.runner import CheckpointLoader
    CheckpointLoader.register_scheme('', _load_from_local, force=True)
