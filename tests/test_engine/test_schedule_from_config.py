"""A resume with a longer schedule follows the config's schedule."""
import sys

import pytest
import torch
from helpers import LossRecorder, load_tool, resume_cfg, tiny_synthetic_cfg
from mmengine.hooks import Hook
from mmengine.runner import Runner

GCAHNG_CFG = 'gcahng/r18_pa_synthetic.py'


class LrRecorder(Hook):
    """Every optimiser's learning rates at each training iteration."""
    priority = 'VERY_LOW'

    def __init__(self) -> None:
        self.lrs = []

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        self.lrs.append({
            k: list(v)
            for k, v in runner.optim_wrapper.get_lr().items()
        })


def _shipped_cfg(work, max_epochs):
    """The config's own schedules; only ``train_cfg.max_epochs`` is set."""
    cfg = tiny_synthetic_cfg(GCAHNG_CFG, work, max_epochs=max_epochs)
    cfg.model.graph_head.update(num_layers=1, num_heads=2)
    cfg.default_hooks.checkpoint.save_best = None
    return cfg


def _cfg(work, max_epochs, t_max, step_size, end):
    cfg = _shipped_cfg(work, max_epochs)
    cfg.param_scheduler = dict(
        metric=[
            dict(
                type='StepLR',
                by_epoch=True,
                step_size=step_size,
                gamma=0.5,
                end=end)
        ],
        graph=[
            dict(
                type='CosineAnnealingLR',
                by_epoch=True,
                T_max=t_max,
                eta_min=0.0,
                end=end)
        ],
        cls=[])
    return cfg


def _train(cfg, *hooks):
    runner = Runner.from_cfg(cfg)
    for h in hooks:
        runner.register_hook(h)
    runner.train()
    return runner


@pytest.fixture(scope='module')
def straight(tmp_path_factory):
    work = str(tmp_path_factory.mktemp('straight'))
    lrs, losses = LrRecorder(), LossRecorder()
    runner = _train(_cfg(work, 2, 2, 1, 2), lrs, losses)
    return lrs.lrs, losses.records, runner.model.state_dict()


def test_resume_with_longer_schedule_follows_config(straight, tmp_path):
    full, _, _ = straight
    work = str(tmp_path)
    first = LrRecorder()
    _train(_cfg(work, 1, 1, 5, 1), first)
    assert len(first.lrs) * 2 == len(full)
    second = LrRecorder()
    _train(resume_cfg(_cfg(work, 2, 2, 1, 2)), second)
    epoch2 = full[len(first.lrs):]
    assert len(second.lrs) == len(epoch2)
    for a, b in zip(epoch2, second.lrs):
        assert set(a) == set(b)
        for key in a:
            assert b[key] == pytest.approx(a[key], rel=1e-12, abs=0), key
    # the schedules moved in epoch 2: StepLR halved, cosine at T_max / 2
    for key in ('metric.lr', 'graph.lr'):
        assert second.lrs[0][key][0] == pytest.approx(full[0][key][0] * 0.5)


def test_resume_with_unchanged_config_is_bit_identical(straight, tmp_path):
    full, full_losses, full_state = straight
    work = str(tmp_path)
    first, first_losses = LrRecorder(), LossRecorder()
    _train(_cfg(work, 1, 2, 1, 2), first, first_losses)
    second, second_losses = LrRecorder(), LossRecorder()
    runner = _train(resume_cfg(_cfg(work, 2, 2, 1, 2)), second, second_losses)
    assert first.lrs + second.lrs == full
    assert first_losses.records + second_losses.records == full_losses
    state = runner.model.state_dict()
    assert set(state) == set(full_state)
    for k, v in full_state.items():
        assert torch.equal(state[k], v), k


def test_shipped_cosine_follows_max_epochs(tmp_path):
    """The configs' graph-head cosine states no ``T_max``: a run of 2 epochs
    (the config says 8) anneals over those 2, and a 1-epoch run raised to 2
    epochs on resume (only ``max_epochs`` changed) equals the 2-epoch run."""
    full = LrRecorder()
    _train(_shipped_cfg(str(tmp_path / 'a'), 2), full)
    half = len(full.lrs) // 2
    start, epoch2 = full.lrs[0]['graph.lr'][0], full.lrs[half]['graph.lr'][0]
    assert epoch2 == pytest.approx(start * 0.5)  # cos(pi * 1/2); T_max 8: 0.96
    work = str(tmp_path / 'b')
    first, second = LrRecorder(), LrRecorder()
    _train(_shipped_cfg(work, 1), first)
    _train(resume_cfg(_shipped_cfg(work, 2)), second)
    assert first.lrs + second.lrs == full.lrs


def test_tools_train_adds_the_hook_on_resume(monkeypatch, tmp_path):
    train = load_tool('train.py')
    cfg_file = str(tmp_path / 'cfg.py')
    _cfg(str(tmp_path), 1, 1, 1, 1).dump(cfg_file)
    from mmengine.config import Config
    for argv, expected in (([], False), (['--resume'], True)):
        monkeypatch.setattr(sys, 'argv', ['train.py', cfg_file] + argv)
        cfg = train.merge_args(Config.fromfile(cfg_file), train.parse_args())
        types = [h['type'] for h in cfg.get('custom_hooks', [])]
        assert ('ScheduleFromConfigHook' in types) is expected


def _baseline_cfg(work, max_epochs, end):
    """A plain list: linear warm-up then an iteration-based cosine."""
    cfg = tiny_synthetic_cfg(
        'baselines/r18_pa_synthetic.py', work, max_epochs=max_epochs)
    cfg.default_hooks.checkpoint.save_best = None
    cfg.param_scheduler = [
        dict(
            type='LinearLR',
            start_factor=0.5,
            by_epoch=True,
            begin=0,
            end=1,
            convert_to_iter_based=True),
        dict(
            type='CosineAnnealingLR',
            by_epoch=True,
            T_max=end,
            eta_min=1e-6,
            begin=0,
            end=end,
            convert_to_iter_based=True),
    ]
    return cfg


def test_plain_list_iteration_based_schedules(tmp_path):
    full = LrRecorder()
    _train(_baseline_cfg(str(tmp_path / 'a'), 2, 2), full)
    work = str(tmp_path / 'b')
    first, second = LrRecorder(), LrRecorder()
    _train(_baseline_cfg(work, 1, 1), first)
    _train(resume_cfg(_baseline_cfg(work, 2, 2)), second)
    epoch2 = full.lrs[len(first.lrs):]
    assert len(second.lrs) == len(epoch2) > 1
    for a, b in zip(epoch2, second.lrs):
        assert b['lr'] == pytest.approx(a['lr'], rel=1e-9)
    assert second.lrs[-1]['lr'][0] < second.lrs[0]['lr'][0]
