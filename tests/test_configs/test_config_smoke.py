"""Every leaf config builds and runs one training iteration and one
validation step on fixture data (DEVELOPERS.md: no config untested)."""
import glob
import os.path as osp

import pytest
from helpers import REPO, tiny_synthetic_cfg
from mmengine.config import Config
from mmengine.runner import Runner

LEAF_CONFIGS = sorted(
    osp.relpath(p, osp.join(REPO, 'configs'))
    for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
    if '_base_' not in p)


def test_configs_are_found():
    assert 'gcahng/r18_pa_synthetic.py' in LEAF_CONFIGS
    assert 'baselines/r18_pa_synthetic.py' in LEAF_CONFIGS


@pytest.mark.parametrize('rel', LEAF_CONFIGS)
def test_config_runs_one_iteration(rel, tmp_path):
    dataset = Config.fromfile(osp.join(REPO, 'configs',
                                       rel)).train_dataloader.dataset.type
    if dataset != 'SyntheticFineGrained':
        pytest.fail(f'{rel}: no fixture for dataset {dataset} in this test')
    cfg = tiny_synthetic_cfg(rel, str(tmp_path), per_class=2)
    cfg.train_cfg = dict(by_epoch=False, max_iters=1, val_interval=1)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1)
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = runner.val_loop.run()
    assert 0.0 <= metrics['retrieval/R@1'] <= 100.0
