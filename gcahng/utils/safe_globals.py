"""Let ``torch.load(weights_only=True)`` read MMEngine checkpoints.

Since torch 2.6 ``torch.load`` defaults to ``weights_only=True`` and
MMEngine 0.10.7 calls it without the argument, so ``--resume``,
``load_from`` and ``tools/test.py`` fail on the non-tensor objects that
MMEngine stores next to the weights. Instead of turning ``weights_only``
off (which would let a checkpoint run arbitrary code), we allow-list
exactly the globals our checkpoints contain, found by saving and loading
real checkpoints (``tests/test_checkpoint.py`` repeats the experiment):

- ``mmengine.logging.HistoryBuffer``: the message hub's logged scalars;
- ``builtins.getattr``: a HistoryBuffer pickles its bound statistics
  methods (``min``, ``max``, ``mean``, ...) as ``getattr(buffer, 'min')``;
  the weights-only unpickler still refuses to *call* anything that is not
  allow-listed, so this only lets attributes of allowed objects be looked up;
- numpy's ``ndarray``, ``dtype``, ``_reconstruct`` and ``scalar`` and the
  ``Float64DType``/``Int64DType`` classes: the buffers' numpy arrays and the
  numpy scalars in the runtime info.

Anything else in a checkpoint is still refused.
"""
import builtins
import importlib
from typing import Any, List

import numpy as np
import torch

_NUMPY_MULTIARRAY = ('numpy._core.multiarray', 'numpy.core.multiarray')


def _numpy_multiarray(name: str) -> Any:
    for module in _NUMPY_MULTIARRAY:
        try:
            return getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            continue
    raise ImportError(f'numpy has no multiarray.{name}')


def checkpoint_safe_globals() -> List[Any]:
    """The objects allow-listed for ``torch.load(weights_only=True)``."""
    from mmengine.logging import HistoryBuffer
    safe = [
        HistoryBuffer,
        builtins.getattr,
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
    """Allow-list :func:`checkpoint_safe_globals` (idempotent)."""
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is not None:  # torch < 2.4 has no weights_only default to fix
        add(checkpoint_safe_globals())
