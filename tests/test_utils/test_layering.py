"""gcahng/utils is the ground floor: it imports nothing of the layers above
it (models, datasets, evaluation, engine, visualization)."""
import ast
import glob
import os.path as osp
import subprocess
import sys

from helpers import REPO

ABOVE = ('models', 'datasets', 'evaluation', 'engine', 'visualization')


def imported_modules(path: str):
    """Absolute names of the gcahng modules ``path`` imports (relative
    imports resolved against gcahng/utils)."""
    tree = ast.parse(open(path).read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ['gcahng', 'utils'][:max(0, 3 - node.level)]
                name = '.'.join(base + ([node.module] if node.module else []))
                yield name
                for alias in node.names:  # from .. import models
                    yield f'{name}.{alias.name}'
            else:
                yield node.module


def test_utils_imports_nothing_above_it():
    files = glob.glob(osp.join(REPO, 'gcahng', 'utils', '*.py'))
    assert files
    bad = []
    for path in files:
        for name in imported_modules(path):
            parts = name.split('.')
            if parts[0] == 'gcahng' and len(parts) > 1 and parts[1] in ABOVE:
                bad.append(f'{osp.relpath(path, REPO)}: {name}')
    assert not bad, bad


def test_datasets_import_nothing_of_models():
    """The data side deals the global batch; it does not reach into the
    model (docs/algorithm.md §9)."""
    files = glob.glob(
        osp.join(REPO, 'gcahng', 'datasets', '**', '*.py'), recursive=True)
    assert files
    bad = [
        f'{osp.relpath(path, REPO)}: {line.strip()}' for path in files
        for line in open(path)
        if line.lstrip().startswith(('import', 'from')) and (
            'gcahng.models' in line or 'from ..models' in line
            or 'from ...models' in line)
    ]
    assert not bad, bad


def test_importing_utils_loads_no_upper_layer():
    code = ('import sys, gcahng.utils; print(sorted(m for m in sys.modules '
            f'if m.split(".")[:2][-1] in {ABOVE!r} and '
            'm.startswith("gcahng.")))')
    out = subprocess.run([sys.executable, '-c', code],
                         cwd=REPO,
                         capture_output=True,
                         text=True,
                         check=True).stdout.strip()
    assert out == '[]', out
