"""Checkpoints written atomically: a killed save leaves the previous ones.

MMEngine's :class:`~mmengine.hooks.CheckpointHook` writes ``epoch_N.pth``
through a file backend's ``put`` and then ``last_checkpoint`` with a plain
``open(..., 'w')``, both straight to their final names, so a run killed
while saving leaves a truncated checkpoint under a real name or an empty
``last_checkpoint`` (and ``--resume`` then silently starts from scratch).
Here the checkpoints go through the registered ``'atomic_local'`` file
backend (:class:`gcahng.engine.fileio.AtomicLocalBackend`), chosen through
the hook's public ``backend_args`` when the config sets none and the
checkpoints stay on the local disk, and ``last_checkpoint`` is written by
this hook with :func:`~gcahng.engine.fileio.atomic_open` (a temporary file
in the same folder, flushed and moved into place with :func:`os.replace`).
Nothing of mmengine is patched.

The hook is registered in the gcahng registry under mmengine's own name
``CheckpointHook``, so every config (``default_scope = 'gcahng'``) gets it
without a config change.
"""
import contextlib
import os.path as osp
from typing import Any, ContextManager, Optional

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook as _MMEngineCheckpointHook

from gcahng.engine.fileio import ATOMIC_LOCAL, atomic_open
from gcahng.registry import HOOKS
from gcahng.utils.logging import withheld_log_records

#: The pointer file mmengine's ``find_latest_checkpoint`` reads.
LAST_CHECKPOINT = 'last_checkpoint'


def _is_local(path: Optional[str]) -> bool:
    """Whether ``path`` (None: the work dir) is on the local disk."""
    return path is None or '://' not in str(path)


@HOOKS.register_module(name='CheckpointHook')
class AtomicCheckpointHook(_MMEngineCheckpointHook):
    """:class:`~mmengine.hooks.CheckpointHook` whose local writes are atomic.

    Same arguments and behaviour as mmengine's hook; a run killed while
    saving leaves the previous checkpoint and ``last_checkpoint`` intact and
    no truncated file under a checkpoint's name. Checkpoints on the local
    disk without ``backend_args`` are written through the ``'atomic_local'``
    file backend; explicit ``backend_args`` (another storage) are kept.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if (self.backend_args is None and self.file_client_args is None
                and _is_local(self.out_dir)):
            self.backend_args = dict(backend=ATOMIC_LOCAL)

    def before_train(self, runner) -> None:
        with self._quiet_file_client():
            super().before_train(runner)

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        """mmengine 0.10's ``CheckpointHook._save_checkpoint_with_step``
        (drop the oldest of ``max_keep_ckpts``, save through the file
        backend) with ``last_checkpoint`` written by :func:`atomic_open`:
        the parent writes it with a plain ``open``, so it is not called."""
        with self._quiet_file_client():
            self._drop_oldest_checkpoint(runner, step)
            ckpt_filename = self.filename_tmpl.format(step)
            self.last_ckpt = self.file_backend.join_path(
                self.out_dir, ckpt_filename)
            runner.message_hub.update_info('last_ckpt', self.last_ckpt)
            runner.save_checkpoint(
                self.out_dir,
                ckpt_filename,
                self.file_client_args,
                save_optimizer=self.save_optimizer,
                save_param_scheduler=self.save_param_scheduler,
                meta=meta,
                by_epoch=self.by_epoch,
                backend_args=self.backend_args,
                **self.args)
        if is_main_process():
            with atomic_open(osp.join(runner.work_dir, LAST_CHECKPOINT)) as f:
                f.write(self.last_ckpt)

    def _drop_oldest_checkpoint(self, runner, step: int) -> None:
        """Keep at most ``max_keep_ckpts`` checkpoints, ``step`` counted."""
        if self.max_keep_ckpts <= 0 or (self.keep_ckpt_ids
                                        and self.keep_ckpt_ids[-1] == step):
            return  # off, or a second save in one step (latest and best)
        if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
            old = self.keep_ckpt_ids.popleft()
            if is_main_process():
                path = self.file_backend.join_path(
                    self.out_dir, self.filename_tmpl.format(old))
                if self.file_backend.isfile(path):
                    self.file_backend.remove(path)
                elif self.file_backend.isdir(path):
                    self.file_backend.rmtree(path)
        self.keep_ckpt_ids.append(step)
        runner.message_hub.update_info('keep_ckpt_ids',
                                       list(self.keep_ckpt_ids))

    def _save_best_checkpoint(self, runner, metrics) -> None:
        with self._quiet_file_client():
            super()._save_best_checkpoint(runner, metrics)

    def _quiet_file_client(self) -> ContextManager:
        """Without ``file_client_args`` mmengine still builds a (then
        unused) ``FileClient`` at start and at every save, each time warning
        that it will be deprecated: withhold those warnings."""
        if self.file_client_args is not None:
            return contextlib.nullcontext()
        return withheld_log_records(r'^"(FileClient|HardDiskBackend)" ')
