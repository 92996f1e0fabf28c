"""``--debug`` works in every tool: a user error ends the tool with one
line without it and raises with its traceback with it."""
import ast
import glob
import os.path as osp
import sys

import pytest
from helpers import REPO, load_tool

from gcahng.utils import is_user_error, run_tool

TOOLS = sorted(
    osp.relpath(p, osp.join(REPO, 'tools'))
    for p in glob.glob(osp.join(REPO, 'tools', '**', '*.py'), recursive=True))


def _main_block(tree: ast.Module) -> ast.If:
    return next(
        node for node in tree.body
        if isinstance(node, ast.If) and '__main__' in ast.unparse(node.test))


@pytest.mark.parametrize('rel', TOOLS)
def test_every_tool_ends_through_run_tool(rel):
    """The errors of ``main`` reach :func:`run_tool` (which honours
    ``--debug``): the tool runs ``main`` through it and raises no
    ``SystemExit`` of its own (that would bypass ``--debug``)."""
    with open(osp.join(REPO, 'tools', rel)) as f:
        tree = ast.parse(f.read())
    assert 'run_tool(' in ast.unparse(_main_block(tree)), rel
    exits = [
        node.lineno for node in ast.walk(tree) if isinstance(node, ast.Raise)
        and node.exc is not None and 'SystemExit' in ast.unparse(node.exc)
    ]
    assert exits == [], f'{rel} raises SystemExit at lines {exits}'


#: An analysis tool and a command line that is a user error.
ANALYSIS = [
    ('analysis_tools/visualize_retrieval.py', ['/nonexistent/cfg.py', 'x']),
    ('analysis_tools/visualize_embeddings.py', ['/nonexistent/cfg.py', 'x']),
    ('analysis_tools/feature_spread.py', ['/nonexistent/cfg.py', 'x']),
    ('analysis_tools/collect_results.py', ['/nonexistent/work_dir']),
    ('analysis_tools/readme_tables.py', ['--readme', '/nonexistent/R.md']),
]


@pytest.mark.parametrize('rel, argv', ANALYSIS, ids=[r for r, _ in ANALYSIS])
def test_analysis_tools_honour_debug(rel, argv, monkeypatch, capsys):
    tool = load_tool(rel)
    monkeypatch.setattr(sys, 'argv', [rel] + argv)
    with pytest.raises(SystemExit) as exit_info:
        run_tool(lambda: tool.main(sys.argv[1:]))
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert len([line for line in err.splitlines()
                if ': error: ' in line]) == 1, err
    monkeypatch.setattr(sys, 'argv', [rel] + argv + ['--debug'])
    with pytest.raises(Exception) as info:  # noqa: B017 (the user error)
        run_tool(lambda: tool.main(sys.argv[1:]))
    assert is_user_error(info.value), info.value
