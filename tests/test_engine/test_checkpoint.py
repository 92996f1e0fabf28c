"""Checkpoints under torch's ``weights_only=True``: save, resume, refuse."""
import os.path as osp
import pickle
import sys

import pytest
import torch
from helpers import LossRecorder, load_tool, tiny_synthetic_cfg
from mmengine.runner import Runner

from gcahng.utils.safe_globals import (checkpoint_safe_globals,
                                       register_safe_globals)

BASELINE = 'baselines/r18_pa_synthetic.py'


def _train(cfg, recorder=None):
    runner = Runner.from_cfg(cfg)
    if recorder is not None:
        runner.register_hook(recorder)
    runner.train()
    return runner


@pytest.fixture(scope='module')
def two_epoch_run(tmp_path_factory):
    """An uninterrupted 2-epoch baseline run (random augmentation on)."""
    work = str(tmp_path_factory.mktemp('full'))
    rec = LossRecorder()
    _train(tiny_synthetic_cfg(BASELINE, work, max_epochs=2), rec)
    return work, rec.records


def test_checkpoint_loads_with_weights_only(two_epoch_run):
    work, _ = two_epoch_run
    ckpt = torch.load(osp.join(work, 'epoch_2.pth'), weights_only=True)
    assert {'meta', 'state_dict', 'message_hub', 'optimizer'} <= set(ckpt)


def test_safe_globals_are_exactly_what_checkpoints_need(two_epoch_run):
    """Removing any one allow-listed global makes our checkpoint fail."""
    work, _ = two_epoch_run
    path = osp.join(work, 'epoch_2.pth')
    safe = checkpoint_safe_globals()
    try:
        for left_out in safe:
            torch.serialization.clear_safe_globals()
            torch.serialization.add_safe_globals(
                [g for g in safe if g is not left_out])
            with pytest.raises(pickle.UnpicklingError):
                torch.load(path, weights_only=True)
    finally:
        torch.serialization.clear_safe_globals()
        register_safe_globals()
    torch.load(path, weights_only=True)


class Evil:

    def __reduce__(self):
        return (print, ('pwned', ))


def test_arbitrary_pickled_object_is_refused(tmp_path):
    path = str(tmp_path / 'evil.pth')
    torch.save(dict(state_dict={}, meta=dict(x=Evil())), path)
    from mmengine.runner import load_checkpoint
    with pytest.raises(pickle.UnpicklingError):
        load_checkpoint(torch.nn.Linear(1, 1), path)


def test_resume_reproduces_uninterrupted_run(two_epoch_run, tmp_path):
    _, full = two_epoch_run
    work = str(tmp_path)
    first = LossRecorder()
    _train(tiny_synthetic_cfg(BASELINE, work, max_epochs=1), first)
    cfg = tiny_synthetic_cfg(BASELINE, work, max_epochs=2)
    cfg.resume = True  # latest checkpoint in work_dir, as --resume does
    second = LossRecorder()
    _train(cfg, second)
    resumed = first.records + second.records
    assert len(resumed) == len(full)
    for a, b in zip(full, resumed):
        assert a['loss_metric'] == pytest.approx(b['loss_metric'], abs=1e-5)


def test_tools_test_evaluates_checkpoint(two_epoch_run, tmp_path, monkeypatch):
    work, _ = two_epoch_run
    test_tool = load_tool('test.py')
    cfg_file = str(tmp_path / 'cfg.py')
    tiny_synthetic_cfg(BASELINE, str(tmp_path)).dump(cfg_file)
    out = str(tmp_path / 'metrics.json')
    monkeypatch.setattr(sys, 'argv', [
        'test.py', cfg_file,
        osp.join(work, 'epoch_2.pth'), '--work-dir',
        str(tmp_path), '--out', out
    ])
    test_tool.main()
    import json
    metrics = json.load(open(out))
    assert 0.0 <= metrics['retrieval/R@1'] <= 100.0
    assert 'retrieval/M@R' in metrics and 'retrieval/RP' in metrics
