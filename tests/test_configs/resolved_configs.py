"""Snapshots of the leaf configs as the runner sees them.

A leaf config is every ``configs/**/*.py`` outside ``configs/_base_``. Its
resolved form is ``Config.fromfile(path).to_dict()`` with every base merged
in, written as JSON with sorted keys; a tuple is kept apart from a list as
``{"__tuple__": [...]}`` so that a tuple turned list (or back) counts as a
change. ``test_resolved_configs.py`` compares today's resolution of every
leaf with the snapshot under ``tests/data/resolved_configs/<rel>.json``, so
a refactoring of the configs that changes any value fails.

Regenerate the snapshots only for a deliberate change of a setting::

    PYTHONPATH=$PWD python tests/test_configs/resolved_configs.py
"""
import glob
import json
import os
import os.path as osp
from typing import Any, List

from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(REPO, 'configs')
SNAPSHOTS = osp.join(REPO, 'tests', 'data', 'resolved_configs')


def leaf_configs() -> List[str]:
    """Paths of the leaf configs relative to ``configs/``, sorted."""
    paths = glob.glob(osp.join(CONFIGS, '**', '*.py'), recursive=True)
    rels = (osp.relpath(p, CONFIGS) for p in paths)
    return sorted(r for r in rels if not r.startswith('_base_' + osp.sep))


def _plain(value: Any) -> Any:
    """``value`` as JSON data; tuples marked as such."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return {'__tuple__': [_plain(v) for v in value]}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f'{type(value).__name__} in a config: {value!r}')


def resolve(rel: str) -> dict:
    """The resolved config of ``configs/<rel>`` as JSON data."""
    return _plain(Config.fromfile(osp.join(CONFIGS, rel)).to_dict())


def dumps(resolved: dict) -> str:
    """The canonical text of a snapshot."""
    return json.dumps(resolved, indent=1, sort_keys=True) + '\n'


def snapshot_path(rel: str) -> str:
    return osp.join(SNAPSHOTS, osp.splitext(rel)[0] + '.json')


def main() -> None:
    """Write the snapshot of every leaf config."""
    for rel in leaf_configs():
        path = snapshot_path(rel)
        os.makedirs(osp.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(dumps(resolve(rel)))
    print(f'{len(leaf_configs())} snapshots in {SNAPSHOTS}')


if __name__ == '__main__':
    main()
