"""Every tool under ``tools/`` runs as a process on tiny data: status 0 and
no Python object on stderr when it succeeds, status 1 and one
``<tool>: error: ...`` line on a user error. The model is the sandbox's
``make demo`` checkpoint (``conftest.demo``); the README's "Use a trained
model" commands are run as pasted in ``test_readme_commands.py``."""
import glob
import json
import os
import os.path as osp
import re
import shutil
import subprocess
import sys

import pytest
import torch
from fixtures.retrieval_images import IMAGES
from fixtures.widelands_tree import make_tree
from helpers import OFFICIAL_NAMES, REPO, assert_clean_exit, assert_one_message
from PIL import Image

from gcahng.datasets import Widelands

#: Each tool and the tests here (or elsewhere, named) that run it as a
#: process.
PROCESS_TESTS = {
    'tools/train.py': 'test_make_demo_trains_and_tests',
    'tools/test.py': 'test_make_demo_trains_and_tests',
    'tools/check_dataset.py': 'test_check_dataset',
    'tools/retrieve.py': 'test_any_config_of_the_architecture_searches',
    'tools/embed.py': 'test_any_config_of_the_architecture_searches',
    'tools/deployment/pytorch2onnx.py':
    'test_any_config_of_the_architecture_searches',
    'tools/dataset_converters/folder_to_csv.py': 'test_folder_to_csv_chains',
    'tools/dataset_converters/icon_themes.py': 'test_icon_themes',
    'tools/dataset_converters/widelands.py': 'test_widelands',
    'tools/model_converters/gcahng_official_to_mmengine.py':
    'test_official_converter',
    'tools/analysis_tools/visualize_embeddings.py': 'test_analysis_tools',
    'tools/analysis_tools/visualize_retrieval.py': 'test_analysis_tools',
    'tools/analysis_tools/feature_spread.py': 'test_analysis_tools',
    'tools/analysis_tools/collect_results.py': 'test_analysis_tools',
    'tools/analysis_tools/benchmark_speed.py': 'test_analysis_tools',
    'tools/analysis_tools/readme_tables.py': 'test_readme_tables',
}


def tool(*args: str, cwd: str = REPO) -> subprocess.CompletedProcess:
    """``python TOOL ARGS`` with this checkout's package."""
    env = dict(os.environ, PYTHONPATH=REPO)
    return subprocess.run([sys.executable, *args],
                          cwd=cwd,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=600)


def test_every_tool_has_a_process_test():
    tools = sorted(
        osp.relpath(p, REPO)
        for p in glob.glob(osp.join(REPO, 'tools', '*.py')) +
        glob.glob(osp.join(REPO, 'tools', '*', '*.py')))
    assert tools == sorted(PROCESS_TESTS)
    names = set(re.findall(r'^def (test_\w+)', open(__file__).read(), re.M))
    assert set(PROCESS_TESTS.values()) <= names


def test_make_demo_trains_and_tests(demo):
    """``make demo``'s two commands (one iteration): status 0, a clean
    stderr, a checkpoint and the test metrics."""
    assert [c.split()[1]
            for c in demo['commands']] == ['tools/train.py', 'tools/test.py']
    for proc in demo['procs']:
        assert_clean_exit(proc)
    assert osp.isfile(demo['checkpoint'])
    metrics = json.load(open(osp.join(demo['work_dir'], 'test_metrics.json')))
    assert metrics['retrieval/num_queries'] == 64


def test_check_dataset(demo):
    proc = tool('tools/check_dataset.py', demo['dumped_config'])
    assert_clean_exit(proc)
    assert 'all decode' in proc.stdout


def options_of(tool_path: str) -> set:
    """The options that a tool's ``--help`` lists."""
    proc = tool(tool_path, '--help')
    assert_clean_exit(proc)
    return set(re.findall(r'--[a-z][a-z-]*', proc.stdout))


def test_any_config_of_the_architecture_searches(demo, tmp_path):
    """The demo's checkpoint with a config of the same architecture trained
    on other classes (the icon benchmark's, 100 classes): the backbone and
    neck load, the training-only modules are skipped in one line; search,
    re-ranking, embedding and export exit 0."""
    icons = 'configs/gcahng/r18_pa_icons.py'
    common = [icons, demo['checkpoint'], '--device', 'cpu']
    out = tmp_path / 'ret'
    proc = tool('tools/retrieve.py', *common, '--gallery', IMAGES, '--query',
                osp.join(IMAGES, 'printer'), '-k', '3', '--out-dir', str(out),
                '--rerank', 'k_reciprocal')
    assert_clean_exit(proc)
    skipped = [line for line in proc.stdout.splitlines() if 'skipped' in line]
    assert len(skipped) == 1 and 'graph_head' in skipped[0], proc.stdout
    assert 'classifier' in skipped[0] and 'loss_metric' in skipped[0]
    results = json.load(open(out / 'results.json'))
    assert results['rerank'] == 'k_reciprocal'
    assert all(len(q['paths']) == 3 for q in results['queries'])
    proc = tool('tools/embed.py', *common, IMAGES, '--out',
                str(tmp_path / 'emb.npz'))
    assert_clean_exit(proc)
    proc = tool('tools/deployment/pytorch2onnx.py', icons, demo['checkpoint'],
                '--out', str(tmp_path / 'm.onnx'), '--images', IMAGES)
    assert_clean_exit(proc)
    assert osp.isfile(tmp_path / 'm.onnx')


def test_search_errors_name_existing_options(demo, tmp_path):
    """A checkpoint of another architecture is refused in one line whose
    way out exists (``--non-strict``), as does every option an error
    names; a missing gallery is one line too."""
    r50 = 'configs/gcahng/r50_pa_csv.py'
    for path, extra in (('tools/retrieve.py', [
            '--gallery', IMAGES, '--query', IMAGES, '--out-dir',
            str(tmp_path / 'r')
    ]), ('tools/deployment/pytorch2onnx.py',
         ['--out', str(tmp_path / 'm.onnx'), '--images', IMAGES])):
        name = osp.basename(path)
        proc = tool(path, r50, demo['checkpoint'], '--cfg-options',
                    'model.backbone.pretrained=None', *extra)
        line = assert_one_message(proc, name, 'does not fit', 'backbone')
        named = set(re.findall(r'--[a-z][a-z-]*', line)) - {'--debug'}
        assert named == {'--non-strict'}, line
        assert named <= options_of(path)
    proc = tool('tools/retrieve.py', demo['config'], demo['checkpoint'],
                '--gallery', str(tmp_path / 'nothing'), '--query', IMAGES)
    assert_one_message(proc, 'retrieve.py', 'no such folder or index file')


def test_folder_to_csv_chains(tmp_path):
    """It exits 0 (a ``&&`` chain goes on) and writes its config."""
    out = tmp_path / 'data.csv'
    proc = subprocess.run([
        'bash', '-c', f'"{sys.executable}" '
        f'tools/dataset_converters/folder_to_csv.py {IMAGES} --out {out} '
        '&& echo chained'
    ],
                          cwd=REPO,
                          env=dict(os.environ, PYTHONPATH=REPO),
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert_clean_exit(proc)
    lines = proc.stdout.strip().splitlines()
    assert lines[-1] == 'chained'
    config = str(tmp_path / 'data_r50_pa_csv.py')
    assert lines[-2] == f'python tools/train.py {config}'
    assert osp.isfile(config) and proc.stderr == ''
    proc = tool('tools/dataset_converters/folder_to_csv.py',
                str(tmp_path / 'missing'), '--out', str(out))
    assert_one_message(proc, 'folder_to_csv.py', 'missing')


def icon_tree(root: str, families: list, names: list) -> None:
    """A miniature ``/usr/share/icons``: each family draws each name."""
    for f, family in enumerate(families):
        for n, name in enumerate(names):
            path = osp.join(root, family, '48x48', 'apps', f'{name}.png')
            os.makedirs(osp.dirname(path), exist_ok=True)
            Image.new('RGBA', (48, 48), (40 * f, 60 * n, 100, 255)).save(path)


def test_icon_themes(tmp_path):
    """The converter builds a miniature benchmark from a fake icon tree;
    without rsvg-convert or theme families it stops with one message."""
    conv = 'tools/dataset_converters/icon_themes.py'
    proc = tool(conv, '--icons-root', str(tmp_path / 'none'), '--out',
                str(tmp_path / 'out'))
    assert_one_message(proc, 'icon_themes.py', '--install')
    if shutil.which('rsvg-convert') is None:
        pytest.skip('rsvg-convert is not installed (its success path)')
    icon_tree(
        str(tmp_path / 'icons'), ['Adwaita', 'breeze', 'Tango'],
        ['go-up', 'go-down', 'edit-copy', 'edit-cut'])
    proc = tool(conv, '--icons-root', str(tmp_path / 'icons'), '--out',
                str(tmp_path / 'bench'), '--pretrain', '', '--dev', '',
                '--num-classes', '4', '--min-samples', '3', '--workers', '1')
    assert_clean_exit(proc)
    stats = json.load(open(tmp_path / 'bench' / 'stats.json'))
    assert stats['benchmark']['images'] == 12


def test_widelands(tmp_path):
    """The converter builds the benchmark, its development split and its
    pretraining objects from a miniature data folder; without one it stops
    with one message naming the ways to get the package."""
    root = str(tmp_path / 'data')
    make_tree(root, workers=8)
    out = tmp_path / 'wl'
    conv = 'tools/dataset_converters/widelands.py'
    proc = tool(conv, '--data-root', str(tmp_path / 'nothing'), '--out',
                str(tmp_path / 'none'))
    assert_one_message(proc, 'widelands.py', '--download', '--data-root')
    args = [
        '--data-root', root, '--out',
        str(out), '--dev',
        str(tmp_path / 'wl_dev'), '--pretrain',
        str(tmp_path / 'wl_pre'), '--num-classes', '6', '--per-class', '12',
        '--min-samples', '8', '--size', '24', '--workers', '1'
    ]
    assert_clean_exit(tool(conv, *args))
    train, test = Widelands(str(out)), Widelands(str(out), split='test')
    assert len(train.metainfo['classes']) == 3
    assert len(test.metainfo['classes']) == 3
    assert not set(train.metainfo['classes']) & set(test.metainfo['classes'])
    # a 4-cycle ship gives only 8 frames: 12 per class for the others
    assert len(train) + len(test) in (6 * 12, 5 * 12 + 8)
    dev_train = Widelands(str(tmp_path / 'wl_dev'))
    dev_val = Widelands(str(tmp_path / 'wl_dev'), split='test')
    assert len(dev_train.metainfo['classes']) == 1
    assert len(dev_val.metainfo['classes']) == 2
    names = {
        c.split('.', 1)[1]
        for c in dev_train.metainfo['classes'] + dev_val.metainfo['classes']
    }
    assert names == {c.split('.', 1)[1] for c in train.metainfo['classes']}
    pre = Widelands(str(tmp_path / 'wl_pre'))
    pre_val = Widelands(str(tmp_path / 'wl_pre'), split='test')
    pre_names = {c.split('.', 1)[1] for c in pre.metainfo['classes']}
    pre_names |= {c.split('.', 1)[1] for c in pre_val.metainfo['classes']}
    main_names = {
        c.split('.', 1)[1]
        for c in train.metainfo['classes'] + test.metainfo['classes']
    }
    assert len(pre_names) == 4 and not pre_names & main_names
    assert Image.open(train.get_data_info(0)['img_path']).size == (24, 24)


def test_official_converter(demo, tmp_path):
    """The demo's weights under the authors' names convert back."""
    state = torch.load(demo['checkpoint'], map_location='cpu')['state_dict']
    official = {
        'module.' + theirs + key[len(ours):]: value
        for key, value in state.items()
        for ours, theirs in OFFICIAL_NAMES.items() if key.startswith(ours)
    }
    src, dst = str(tmp_path / 'official.pth'), str(tmp_path / 'ours.pth')
    torch.save(dict(state_dict=official), src)
    proc = tool('tools/model_converters/gcahng_official_to_mmengine.py', src,
                dst)
    assert_clean_exit(proc)
    converted = torch.load(dst, map_location='cpu')['state_dict']
    assert torch.equal(converted['neck.fc.weight'], state['neck.fc.weight'])


def test_analysis_tools(demo, tmp_path):
    """The README's analysis commands on the demo's run."""
    cfg, ckpt = demo['dumped_config'], demo['checkpoint']
    runs = [
        ('visualize_embeddings.py', cfg, ckpt, '--num-classes', '3',
         '--batch-classes', '2', '--tsne-iters', '250'),
        ('visualize_retrieval.py', cfg, ckpt, '--worst', '2', '--topk', '3'),
        ('feature_spread.py', cfg, ckpt, '--pooling', 'avg', 'max',
         '--num-samples', '8'),
        ('collect_results.py', demo['work_dir']),
        ('benchmark_speed.py', demo['config'], '--img-size', '16', '--iters',
         '1', '--warmup', '1', '--device', 'cpu', '--threads', '1'),
    ]
    for name, *args in runs:
        out = str(tmp_path / name)
        proc = tool(f'tools/analysis_tools/{name}', *args, '--out-dir', out)
        assert_clean_exit(proc)
        assert os.listdir(out), name


def test_readme_tables(tmp_path):
    """``readme_tables.py --check`` on the README (status 0, clean), and on
    a README whose table is stale (status 1, saying which)."""
    assert_clean_exit(tool('tools/analysis_tools/readme_tables.py', '--check'))
    stale = tmp_path / 'README.md'
    stale.write_text('<!-- table:paper:start -->\nold\n'
                     '<!-- table:paper:end -->\n')
    proc = tool('tools/analysis_tools/readme_tables.py', '--check', '--readme',
                str(stale))
    assert proc.returncode == 1 and 'paper' in proc.stdout, proc.stdout
