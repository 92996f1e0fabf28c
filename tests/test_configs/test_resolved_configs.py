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
from resolved_configs import (SNAPSHOTS, dumps, leaf_configs, resolve,
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
