"""A local file backend whose writes are atomic.

Registered with mmengine's public :func:`mmengine.fileio.register_backend`
as ``'atomic_local'``: anything that saves through mmengine's file
backends with ``backend_args=dict(backend='atomic_local')`` (the
checkpoint hook of :mod:`gcahng.engine.hooks.atomic_checkpoint_hook` does)
writes a hidden temporary file next to the target, flushes and ``fsync``-s
it and moves it into place with :func:`os.replace`, atomic on POSIX and
Windows: a reader sees the old file or the complete new one, never a
truncated one.
"""
import contextlib
import os
import os.path as osp
from typing import IO, Any, Iterator, Union

import mmengine
from mmengine.fileio import LocalBackend, register_backend


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
        with open(tmp, mode, **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


class AtomicLocalBackend(LocalBackend):
    """:class:`~mmengine.fileio.LocalBackend` whose ``put`` and
    ``put_text`` write through :func:`atomic_open`."""

    def put(self, obj: bytes, filepath: Union[str, os.PathLike]) -> None:
        """Write ``obj`` to ``filepath`` atomically."""
        mmengine.mkdir_or_exist(osp.dirname(osp.abspath(filepath)))
        with atomic_open(filepath, 'wb') as f:
            f.write(obj)

    def put_text(self,
                 obj: str,
                 filepath: Union[str, os.PathLike],
                 encoding: str = 'utf-8') -> None:
        """Write the text ``obj`` to ``filepath`` atomically."""
        mmengine.mkdir_or_exist(osp.dirname(osp.abspath(filepath)))
        with atomic_open(filepath, 'w', encoding=encoding) as f:
            f.write(obj)


#: The name under which :class:`AtomicLocalBackend` is registered.
ATOMIC_LOCAL = 'atomic_local'
register_backend(ATOMIC_LOCAL, AtomicLocalBackend, force=True)
