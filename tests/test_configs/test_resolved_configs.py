"""Every leaf config resolves to its snapshot in tests/data/resolved_configs.

The snapshots were taken before the configs were reorganised into bases
that state each setting once; a change of any value, type (1 vs 1.0, tuple
vs list) or key of a resolved leaf config fails here. A deliberate change of
a setting regenerates them (``tests/test_configs/resolved_configs.py``).
"""
import difflib
import glob
import os.path as osp

import pytest
from resolved_configs import (REPO, SNAPSHOTS, dumps, leaf_configs, resolve,
                              snapshot_path)

LEAVES = leaf_configs()


def test_every_leaf_has_a_snapshot_and_every_snapshot_a_leaf():
    assert len(LEAVES) >= 80
    snapshots = {
        osp.splitext(osp.relpath(p, SNAPSHOTS))[0]
        for p in glob.glob(
            osp.join(SNAPSHOTS, '**', '*.json'), recursive=True)
    }
    assert snapshots == {osp.splitext(rel)[0] for rel in LEAVES}


@pytest.mark.parametrize('rel', LEAVES)
def test_leaf_resolves_to_its_snapshot(rel):
    with open(snapshot_path(rel)) as f:
        stored = f.read()
    today = dumps(resolve(rel))
    if today != stored:
        diff = ''.join(
            difflib.unified_diff(
                stored.splitlines(True),
                today.splitlines(True),
                'snapshot',
                'today',
                n=2))
        pytest.fail(f'configs/{rel} resolves differently:\n{diff}')


@pytest.mark.parametrize('rel', LEAVES)
def test_leaf_states_only_what_differs(rel):
    """A leaf leaves the run-length schedule, the GCA-HNG hooks and the
    class defaults of alpha / beta to its bases."""
    with open(osp.join(REPO, 'configs', rel)) as f:
        text = f.read()
    restated = [
        'T_max', "type='CosineAnnealingLR'", "type='StepLR'",
        "type='HardnessScheduleHook'", "type='BalanceFactorHook'",
        "type='BackboneWarmupHook'", 'hardness_alpha=5.0', 'balance_beta=20.0',
        "type='GCLHead'", "type='CACAIGenerator'"
    ]
    if not rel.endswith('_pretrain.py'):  # pretraining: its own run length
        restated.append('max_epochs')
    assert [r for r in restated if r in text] == [], rel


@pytest.mark.parametrize('rel', LEAVES)
def test_cosine_runs_over_the_whole_run(rel):
    """Every cosine of a resolved leaf states neither ``T_max`` nor ``end``,
    so MMEngine's Runner ends it with the train loop, at whatever
    ``max_epochs`` the run has (tests/test_engine/test_schedule_from_config.py
    checks the learning rates of such a run)."""
    cfg = resolve(rel)
    schedulers = cfg['param_scheduler']
    if isinstance(schedulers, dict):
        schedulers = [s for group in schedulers.values() for s in group]
    for scheduler in schedulers:
        if scheduler['type'] == 'CosineAnnealingLR':
            assert 'T_max' not in scheduler and 'end' not in scheduler, rel
