"""The README's command lines work as written in a fresh shell after
``make``: they are read from the README (not copied here) and run, with the
config and checkpoint placeholders pointing at a tiny run on the built-in
dataset; the "Use a trained model" commands run as pasted after ``make
demo`` (``conftest.demo``)."""
import os
import os.path as osp
import re
import subprocess
import sys

import numpy as np
import pytest
from fixtures.demo_sandbox import run_in
from helpers import (OBJECT_DUMP, REPO, TINY_224_RUN_OPTIONS,
                     assert_clean_exit, tiny_synthetic_cfg)

README = osp.join(REPO, 'README.md')


def bash_blocks(section: str = '') -> list:
    """The ``bash`` blocks of the README (of its ``## <section>`` only)."""
    text = open(README).read()
    if section:
        text = text.split(f'\n## {section}\n', 1)[1].split('\n## ', 1)[0]
    return re.findall(r'```bash\n(.*?)```', text, re.S)


def readme_commands(section: str = '') -> list:
    """Every command line of the README's ``bash`` blocks (of
    ``section``), comments cut."""
    lines = []
    for block in bash_blocks(section):
        for line in block.splitlines():
            line = line.split('#', 1)[0].strip()
            if line:
                lines.append(line)
    return lines


def training_block() -> list:
    """The lines of "Training on the benchmarks" from the venv activation
    to the last ``tools/test.py``."""
    cmds = readme_commands('Training on the benchmarks')
    start = next(i for i, c in enumerate(cmds) if 'activate' in c)
    end = max(i for i, c in enumerate(cmds) if 'tools/test.py' in c)
    return cmds[start:end + 1]


def fresh_shell_env() -> dict:
    """A shell whose ``python`` is not the project's: the venv's bin folder
    and the test interpreter's are off PATH."""
    env = {k: v for k, v in os.environ.items() if k != 'VIRTUAL_ENV'}
    drop = {osp.dirname(sys.executable), osp.join(REPO, '.venv', 'bin')}
    env['PATH'] = os.pathsep.join(
        p for p in env.get('PATH', '').split(os.pathsep)
        if osp.realpath(p) not in {osp.realpath(d)
                                   for d in drop}) or '/usr/bin:/bin'
    env.pop('PYTHONPATH', None)
    return env


def test_readme_names_existing_scripts_and_targets():
    makefile = open(osp.join(REPO, 'Makefile')).read()
    for cmd in readme_commands():
        words = cmd.split()
        if words[0] == 'make':
            assert re.search(rf'^{words[1]}:', makefile, re.M), cmd
        elif words[0] in ('python', 'bash'):
            assert osp.isfile(osp.join(REPO, words[1])), cmd


@pytest.mark.skipif(
    not osp.isfile(osp.join(REPO, '.venv', 'bin', 'activate')),
    reason='the README assumes the virtualenv that make creates in .venv')
def test_readme_training_commands_run_as_written(tmp_path):
    work = str(tmp_path / 'work')
    cfg = tiny_synthetic_cfg('gcahng/r18_pa_synthetic.py', work)
    cfg.model.graph_head.update(num_layers=1, num_heads=2)
    cfg_file = str(tmp_path / 'cfg.py')
    cfg.dump(cfg_file)
    script = []
    for cmd in training_block():
        if '--amp' in cmd:
            continue  # mixed precision needs a GPU
        cmd = re.sub(r'configs/\S+\.py|\bCONFIG\b', cfg_file, cmd)
        cmd = cmd.replace('work_dirs/NAME/epoch_N.pth',
                          osp.join(work, 'epoch_1.pth'))
        cmd = cmd.replace('--out m.json', '--out ' + str(tmp_path / 'm.json'))
        cmd = re.sub(r'(dist_train\.sh \S+) \d+', r'\1 2', cmd)  # 2 CPUs
        script.append(cmd)
    assert any('dist_train.sh' in c for c in script)
    assert any('tools/test.py' in c for c in script)
    proc = subprocess.run(['bash', '-euc', '\n'.join(script)],
                          cwd=REPO,
                          env=dict(fresh_shell_env(), PORT='29517'),
                          capture_output=True,
                          text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert osp.isfile(tmp_path / 'm.json')


def test_launchers_find_the_virtualenv_without_activation(tmp_path):
    """``bash tools/dist_train.sh`` in a shell whose python lacks the stack
    uses ``.venv/bin/python`` (``$PYTHON`` where there is no ``.venv``)."""
    env = fresh_shell_env()
    if not osp.isfile(osp.join(REPO, '.venv', 'bin', 'python')):
        env['PYTHON'] = sys.executable
    proc = subprocess.run(['bash', 'tools/dist_train.sh', '--help', '1'],
                          cwd=REPO,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert 'usage: train.py' in proc.stdout + proc.stderr


def test_use_a_trained_model_runs_as_pasted(demo):
    """The "Use a trained model" blocks, pasted in one shell after ``make
    demo`` (one iteration): the search, the index, the re-ranking, the
    embeddings, the ONNX export, the CSV of the images and its config;
    the training on it is cut to one CPU iteration."""
    script = []
    for block in bash_blocks('Use a trained model'):
        for line in block.splitlines():
            if line.startswith('python tools/train.py'):
                line = line.split('#', 1)[0].rstrip() + ' --cfg-options ' + \
                    ' '.join(TINY_224_RUN_OPTIONS)
            script.append(line)
    assert any('tools/retrieve.py' in line for line in script)
    assert any('folder_to_csv.py' in line for line in script)
    proc = run_in(demo['sandbox'], '\n'.join(script))
    assert_clean_exit(proc)
    assert not OBJECT_DUMP.search(proc.stdout), proc.stdout[-2000:]
    out = demo['sandbox']
    for name in ('retrieval/report.html', 'retrieval_qe/results.json',
                 'gallery.index.npz', 'gallery.hnsw.npz', 'model.onnx',
                 'model.preprocess.json', 'data/my_images.csv',
                 'data/my_images_r50_pa_csv.py',
                 'work_dirs/my_images_r50_pa_csv/epoch_1.pth'):
        assert osp.isfile(osp.join(out, name)), name
    emb = np.load(osp.join(out, 'embeddings.npz'))['embeddings']
    assert emb.shape == (32, 128)
