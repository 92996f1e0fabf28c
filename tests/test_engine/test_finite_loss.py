"""A NaN loss stops the run at that iteration, before any checkpoint of
the broken state is written."""
import os.path as osp

import pytest
import torch
from helpers import tiny_synthetic_cfg
from mmengine.runner import Runner

from gcahng.engine.hooks import NonFiniteLossError


def test_nan_loss_stops_before_saving(tmp_path):
    cfg = tiny_synthetic_cfg('baselines/r18_pa_synthetic.py', str(tmp_path))
    cfg.train_cfg = dict(by_epoch=False, max_iters=4, val_interval=100)
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=1, by_epoch=False)
    cfg.custom_hooks = []
    runner = Runner.from_cfg(cfg)
    loss = runner.model.loss_metric
    calls = []
    original = loss.forward

    def forward(*args, **kwargs):
        calls.append(1)
        out = original(*args, **kwargs)
        return out * float('nan') if len(calls) == 2 else out

    loss.forward = forward
    with pytest.raises(NonFiniteLossError, match=r'iteration 2: loss'):
        runner.train()
    assert osp.isfile(osp.join(str(tmp_path), 'iter_1.pth'))
    assert not osp.exists(osp.join(str(tmp_path), 'iter_2.pth'))
    good = torch.load(osp.join(str(tmp_path), 'iter_1.pth'), weights_only=True)
    assert all(
        torch.isfinite(v).all() for v in good['state_dict'].values()
        if v.is_floating_point())
