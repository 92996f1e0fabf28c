"""Checkpoints written atomically: a killed save leaves the previous ones.

MMEngine's :class:`~mmengine.hooks.CheckpointHook` writes ``epoch_N.pth``
(through the local file backend's ``put``) and then ``last_checkpoint``
(with ``open(..., 'w')``) straight to their final names, so a run killed
while saving leaves a truncated checkpoint under a real name or an empty
``last_checkpoint`` (and ``--resume`` then silently starts from scratch).
Here both are written to a temporary file in the same folder, flushed to
disk and moved into place with :func:`os.replace`, which is atomic on POSIX
and Windows: a reader sees the old file or the complete new one.

The hook is registered in the gcahng registry under mmengine's own name
``CheckpointHook``, so every config (``default_scope = 'gcahng'``) gets it
without a config change.
"""
import builtins
import contextlib
import os
import os.path as osp
from typing import IO, Any, ContextManager, Iterator, Union

import mmengine
from mmengine.fileio import LocalBackend
from mmengine.hooks import CheckpointHook as _MMEngineCheckpointHook
from mmengine.hooks import checkpoint_hook as _checkpoint_hook_module

from gcahng.registry import HOOKS
from gcahng.utils.logging import withheld_log_records


def _temporary_name(path: str) -> str:
    folder, name = osp.split(osp.abspath(path))
    return osp.join(folder, f'.{name}.tmp-{os.getpid()}')


@contextlib.contextmanager
def atomic_open(path: Union[str, os.PathLike],
                mode: str = 'w',
                **kwargs: Any) -> Iterator[IO]:
    """``open(path, mode)`` for writing, moved into place only on success.

    The file is written as a hidden temporary file next to ``path``,
    flushed and ``fsync``-ed, then renamed over ``path`` with
    :func:`os.replace`; on any exception (a kill, a full disk) the
    temporary file is removed and ``path`` is untouched.
    """
    path = os.fspath(path)
    tmp = _temporary_name(path)
    try:
        with builtins.open(tmp, mode, **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def _atomic_put(self: LocalBackend, obj: bytes,
                filepath: Union[str, os.PathLike]) -> None:
    """``LocalBackend.put`` through :func:`atomic_open`."""
    mmengine.mkdir_or_exist(osp.dirname(osp.abspath(filepath)))
    with atomic_open(filepath, 'wb') as f:
        f.write(obj)


def _open_for_hook(file: Any, mode: str = 'r', *args: Any, **kwargs: Any):
    """``open`` as the checkpoint hook module sees it while saving: writes
    (``last_checkpoint``) are atomic, everything else is plain ``open``."""
    if not args and isinstance(file,
                               (str, os.PathLike)) and mode in ('w', 'wb'):
        return atomic_open(file, mode, **kwargs)
    return builtins.open(file, mode, *args, **kwargs)


@contextlib.contextmanager
def atomic_checkpoint_writes() -> Iterator[None]:
    """Make local checkpoint and ``last_checkpoint`` writes atomic for the
    duration (the local file backend's ``put`` and the ``open`` of
    mmengine's checkpoint hook module)."""
    module = _checkpoint_hook_module
    had_open = 'open' in vars(module)
    old_open = vars(module).get('open')
    old_put = LocalBackend.put
    LocalBackend.put = _atomic_put
    module.open = _open_for_hook
    try:
        yield
    finally:
        LocalBackend.put = old_put
        if had_open:
            module.open = old_open
        else:
            del module.open


@HOOKS.register_module(name='CheckpointHook')
class AtomicCheckpointHook(_MMEngineCheckpointHook):
    """:class:`~mmengine.hooks.CheckpointHook` whose local writes are atomic.

    Same arguments and behaviour as mmengine's hook; a run killed while
    saving leaves the previous checkpoint and ``last_checkpoint`` intact and
    no truncated file under a checkpoint's name.
    """

    def before_train(self, runner) -> None:
        with self._quiet_file_client():
            super().before_train(runner)

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        with atomic_checkpoint_writes(), self._quiet_file_client():
            super()._save_checkpoint_with_step(runner, step, meta)

    def _save_best_checkpoint(self, runner, metrics) -> None:
        with atomic_checkpoint_writes(), self._quiet_file_client():
            super()._save_best_checkpoint(runner, metrics)

    def _quiet_file_client(self) -> ContextManager:
        """Without ``file_client_args`` mmengine still builds a (then
        unused) ``FileClient`` at start and at every save, each time warning
        that it will be deprecated: withhold those warnings."""
        if self.file_client_args is not None:
            return contextlib.nullcontext()
        return withheld_log_records(r'^"(FileClient|HardDiskBackend)" ')
