"""A run killed while saving leaves the previous checkpoint usable."""
import builtins
import os
import os.path as osp

import pytest
import torch
from helpers import tiny_synthetic_cfg
from mmengine.runner import Runner, find_latest_checkpoint

from gcahng.engine.hooks import AtomicCheckpointHook

BASELINE = 'baselines/r18_pa_synthetic.py'


class _Killed(BaseException):
    """Stands in for SIGKILL: nothing after it runs, no except catches it."""


class _DyingFile:
    """A file that writes half of what it is given, then the process dies."""

    def __init__(self, f) -> None:
        self._f = f

    def write(self, data):
        self._f.write(data[:max(1, len(data) // 2)])
        self._f.flush()
        raise _Killed()

    def __getattr__(self, name):
        return getattr(self._f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._f.close()


def _kill_on_write(monkeypatch, work: str, name_part: str) -> None:
    """The next write to a file in ``work`` whose name holds ``name_part``
    writes half its bytes and kills the run."""
    real_open = builtins.open

    def dying_open(file, mode='r', *args, **kwargs):
        f = real_open(file, mode, *args, **kwargs)
        if (isinstance(file, str) and 'w' in mode
                and osp.dirname(osp.abspath(file)) == osp.abspath(work)
                and name_part in osp.basename(file)):
            return _DyingFile(f)
        return f

    monkeypatch.setattr(builtins, 'open', dying_open)


def _first_epoch(work: str) -> None:
    cfg = tiny_synthetic_cfg(BASELINE, work, max_epochs=1)
    cfg.default_hooks.checkpoint.save_best = None
    runner = Runner.from_cfg(cfg)
    runner.train()


def _second_epoch_dies(work: str) -> None:
    cfg = tiny_synthetic_cfg(BASELINE, work, max_epochs=2)
    cfg.default_hooks.checkpoint.save_best = None
    cfg.resume = True
    with pytest.raises(_Killed):
        Runner.from_cfg(cfg).train()


def _assert_loadable(path: str) -> None:
    ckpt = torch.load(path, weights_only=True)
    assert 'state_dict' in ckpt and ckpt['meta']['epoch'] >= 1


def test_kill_while_writing_checkpoint(tmp_path, monkeypatch):
    work = str(tmp_path)
    _first_epoch(work)
    _kill_on_write(monkeypatch, work, 'epoch_2.pth')
    _second_epoch_dies(work)
    monkeypatch.undo()
    assert not osp.exists(osp.join(work, 'epoch_2.pth')), 'truncated file'
    assert find_latest_checkpoint(work) == osp.join(work, 'epoch_1.pth')
    _assert_loadable(osp.join(work, 'epoch_1.pth'))
    assert not [f for f in os.listdir(work) if '.tmp-' in f]


def test_kill_while_writing_last_checkpoint(tmp_path, monkeypatch):
    work = str(tmp_path)
    _first_epoch(work)
    _kill_on_write(monkeypatch, work, 'last_checkpoint')
    _second_epoch_dies(work)
    monkeypatch.undo()
    latest = find_latest_checkpoint(work)
    assert latest == osp.join(work, 'epoch_1.pth')  # old pointer, intact
    _assert_loadable(latest)
    _assert_loadable(osp.join(work, 'epoch_2.pth'))  # written completely


def test_project_checkpoint_hook_replaces_mmengine_s(tmp_path):
    cfg = tiny_synthetic_cfg(BASELINE, str(tmp_path))
    runner = Runner.from_cfg(cfg)
    assert any(isinstance(h, AtomicCheckpointHook) for h in runner.hooks)
