"""GlobalBatchHook: on several processes the model gathers exactly when the
train dataloader deals one batch over the ranks (docs/algorithm.md §9)."""
from types import SimpleNamespace

import pytest

from gcahng.datasets.samplers import BatchSettingError
from gcahng.engine.hooks import GlobalBatchHook, global_batch_hook


def _runner(gathers, deals):
    model = SimpleNamespace() if gathers is None else SimpleNamespace(
        gathers=gathers)
    batch_sampler = None if deals is None else SimpleNamespace(
        deals_globally=deals)
    return SimpleNamespace(
        model=model,
        train_dataloader=SimpleNamespace(batch_sampler=batch_sampler))


@pytest.mark.parametrize('gathers,deals', [(True, True), (False, False),
                                           (False, None), (None, None)])
def test_agreeing_settings_train(monkeypatch, gathers, deals):
    monkeypatch.setattr(global_batch_hook, 'get_world_size', lambda: 2)
    GlobalBatchHook().before_train(_runner(gathers, deals))


@pytest.mark.parametrize(
    'gathers,deals,match',
    [(True, None, "batch_sampler=dict\\(type='GlobalBatchSampler'\\)"),
     (True, False, 'a batch of its own'),
     (False, True, 'global_batch=False.*batch_sampler=None'),
     (None, True, 'SimpleNamespace\\).*share')])
def test_disagreeing_settings_are_refused(monkeypatch, gathers, deals, match):
    monkeypatch.setattr(global_batch_hook, 'get_world_size', lambda: 2)
    with pytest.raises(BatchSettingError, match=match):
        GlobalBatchHook().before_train(_runner(gathers, deals))


def test_one_process_checks_nothing(monkeypatch):
    monkeypatch.setattr(global_batch_hook, 'get_world_size', lambda: 1)
    GlobalBatchHook().before_train(_runner(True, None))
