"""Known user errors end a tool with one message, no traceback (with
``--debug``: the traceback); start-up noise a user cannot act on is gone
from the log."""
import glob
import logging
import os.path as osp
import subprocess
import sys

import pytest
import torch
from helpers import REPO, assert_one_message, tiny_synthetic_cfg
from mmengine.logging import MMLogger
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

import gcahng.engine  # noqa: F401  (the gcahng constructor)
from gcahng.utils import ConfigError, is_user_error, run_tool


def run_tool_process(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args],
                          cwd=REPO,
                          capture_output=True,
                          text=True,
                          timeout=600)


@pytest.fixture(scope='module')
def tiny_cfg(tmp_path_factory) -> str:
    tmp = tmp_path_factory.mktemp('user_errors')
    cfg = tiny_synthetic_cfg('gcahng/r18_pa_synthetic.py', str(tmp / 'work'))
    cfg.model.graph_head.update(num_layers=1, num_heads=2)
    cfg.train_cfg.max_epochs = 1
    path = str(tmp / 'cfg.py')
    cfg.dump(path)
    pipeline = cfg.train_dataloader.dataset.pipeline
    cfg.train_dataloader.dataset = dict(
        type='CUB', data_root='/nonexistent/cub', pipeline=pipeline)
    cfg.dump(str(tmp / 'cub_cfg.py'))
    return path


@pytest.mark.parametrize(
    'option, words',
    [
        (None, ('/nonexistent/cub', 'CUB')),  # dataset layout
        ('model.backbone.type=TorchvisionResNet '
         'model.backbone.pretrained=/nonexistent/r18.pth',
         ('/nonexistent/r18.pth', )),  # missing weights
        ('model.neck.type=NoSuchNeck',
         ('config key model.neck.type', 'NoSuchNeck', 'registry')),
        ('model.neck.no_such_option=1',
         ('config key model.neck', 'no_such_option', 'EmbeddingNeck')),
    ],
    ids=['dataset-layout', 'missing-weights', 'unknown-type', 'unknown-key'])
def test_train_reports_user_errors_in_one_message(tiny_cfg, option, words):
    if option is None:  # the same config, reading CUB from a wrong root
        proc = run_tool_process('tools/train.py',
                                tiny_cfg.replace('cfg.py', 'cub_cfg.py'))
    else:
        proc = run_tool_process('tools/train.py', tiny_cfg, '--cfg-options',
                                *option.split())
    assert_one_message(proc, 'train.py', *words)


def test_debug_shows_the_traceback(tiny_cfg):
    proc = run_tool_process('tools/train.py', tiny_cfg, '--debug',
                            '--cfg-options', 'model.neck.type=NoSuchNeck')
    assert proc.returncode != 0
    assert 'Traceback' in proc.stderr and 'NoSuchNeck' in proc.stderr


def test_test_reports_a_missing_checkpoint(tiny_cfg):
    proc = run_tool_process('tools/test.py', tiny_cfg, '/nonexistent/x.pth')
    assert_one_message(proc, 'test.py', '/nonexistent/x.pth')


def test_converter_reports_a_missing_checkpoint(tmp_path):
    proc = run_tool_process(
        'tools/model_converters/gcahng_official_to_mmengine.py',
        '/nonexistent/official.pth', str(tmp_path / 'out.pth'))
    assert_one_message(proc, 'gcahng_official_to_mmengine.py',
                       '/nonexistent/official.pth')


def test_a_bug_still_raises(monkeypatch):
    """Only known user errors are shortened; anything else is a bug whose
    traceback the user must see."""

    def buggy() -> None:
        raise ZeroDivisionError('a bug')

    monkeypatch.setattr(sys, 'argv', ['tool.py'])
    with pytest.raises(ZeroDivisionError):
        run_tool(buggy)
    # recognised by type, not by message: mmengine's own build errors
    # are not user errors (the tools check configs before building)
    assert not is_user_error(KeyError('x'))
    assert not is_user_error(TypeError('unsupported operand'))
    assert not is_user_error(KeyError('Foo is not in the model registry'))
    assert not is_user_error(TypeError('unexpected keyword argument'))
    assert is_user_error(ConfigError('config key model.neck: ...'))


def test_training_start_up_log_is_quiet(tiny_cfg):
    """No per-parameter ``requires_grad=False`` warnings (one summary line
    instead), no FileClient deprecation, no mmcv-lite import warning."""
    proc = run_tool_process('tools/train.py', tiny_cfg, '--no-validate',
                            '--cfg-options', 'model.backbone.frozen_stages=1')
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert 'is skipped since its requires_grad=False' not in out
    assert 'frozen parameters (requires_grad=False' in out
    assert '"FileClient" will be deprecated' not in out
    assert 'MultiScaleDeformableAttention' not in out


def test_frozen_parameters_are_summarised_in_one_line():
    """The per-parameter warnings of mmengine's constructor (given a
    paramwise_cfg, it visits every parameter) become one line."""
    init_default_scope('gcahng')
    logger = MMLogger.get_current_instance()
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 2))
    model[0].requires_grad_(False)
    try:
        build_optim_wrapper(
            model,
            dict(
                optimizer=dict(type='SGD', lr=0.1),
                paramwise_cfg=dict(custom_keys={'1.': dict(lr_mult=2)})))
    finally:
        logger.removeHandler(handler)
    messages = [r.getMessage() for r in records]
    assert not any('is skipped' in m for m in messages), messages
    assert any(m.startswith('2 frozen parameters') for m in messages), \
        messages


def test_every_tool_reports_user_errors_through_run_tool():
    """Each tool's entry point goes through ``run_tool`` (one message for
    a known user error, ``--debug`` for the traceback)."""
    tools = glob.glob(osp.join(REPO, 'tools', '**', '*.py'), recursive=True)
    missing = []
    for path in tools:
        text = open(path).read()
        if "__name__ == '__main__'" not in text:
            continue
        entry = text.split("__name__ == '__main__'", 1)[1]
        if 'run_tool(' not in entry:
            missing.append(osp.relpath(path, REPO))
    assert tools and missing == []


def test_a_batch_setting_that_cannot_work_is_one_message(tiny_cfg):
    """More classes per batch than the dataset has: a config error."""
    proc = run_tool_process(
        'tools/train.py', tiny_cfg, '--cfg-options',
        'train_dataloader.sampler.num_classes_per_batch='
        '99', 'train_dataloader.batch_size=198')
    assert_one_message(proc, 'train.py', 'num_classes_per_batch=99')
