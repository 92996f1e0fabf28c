"""Shared test utilities: tiny runs of real configs on CPU."""
import copy
import importlib.util
import os
import os.path as osp
import re
import socket
import subprocess
import sys
from types import ModuleType
from typing import Any, Callable, List

import pytest
from mmengine.config import Config
from mmengine.hooks import Hook

import gcahng  # noqa: F401

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def free_port() -> int:
    """A free TCP port for a process group's rendezvous."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def run(cmd: List[str], **env: str) -> subprocess.CompletedProcess:
    """Run ``cmd`` in the repository with this checkout's ``gcahng`` and the
    test helpers importable; fail with its output unless it succeeds."""
    full_env = dict(os.environ, **env)
    full_env['PATH'] = (
        osp.dirname(sys.executable) + os.pathsep + full_env.get('PATH', ''))
    full_env['PYTHONPATH'] = REPO + os.pathsep + osp.join(REPO, 'tests')
    proc = subprocess.run(
        cmd,
        cwd=REPO,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


#: ``--cfg-options`` that shrink a 224-pixel GCA-HNG config (R50, the
#: ``dml_224`` pipelines) to one CPU epoch of 3 x 3 batches on a fixture:
#: no pretrained weights, no workers, 32 px crops (the cosine follows the
#: epoch count).
TINY_224_RUN_OPTIONS = [
    'model.backbone.pretrained=None',
    'train_dataloader.batch_size=9',
    'train_dataloader.sampler.num_classes_per_batch=3',
    'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'val_dataloader.num_workers=0',
    'val_dataloader.persistent_workers=False',
    'train_dataloader.dataset.pipeline.1.scale=32',
    'val_dataloader.dataset.pipeline.1.scale=36',
    'val_dataloader.dataset.pipeline.2.crop_size=32',
    'train_cfg.max_epochs=1',
    'train_cfg.val_interval=1',
]

#: Our parameter-name prefixes and the authors' (the model converter's
#: table, tools/model_converters/gcahng_official_to_mmengine.py), to make
#: a checkpoint in the authors' layout out of one of ours.
OFFICIAL_NAMES = {
    'backbone.': 'feature_extractor.backbone.model.',
    'neck.bn.': 'feature_extractor.fc.0.',
    'neck.fc.': 'feature_extractor.fc.1.',
    'graph_head.': 'gnn.',
    'classifier.': 'softmax_classifier.'
}


def config_path(rel: str) -> str:
    return osp.join(REPO, 'configs', rel)


def load_tool(rel: str) -> ModuleType:
    """Import ``tools/<rel>`` as a module (``tools`` is no package)."""
    path = osp.join(REPO, 'tools', rel)
    spec = importlib.util.spec_from_file_location(
        'tool_' + osp.splitext(osp.basename(rel))[0], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def resume_cfg(cfg: Config) -> Config:
    """What ``tools/train.py --resume`` makes of ``cfg`` (a copy): resume
    from the latest checkpoint, with the schedules the config states now."""
    cfg = copy.deepcopy(cfg)
    cfg.resume = True
    load_tool('train.py').add_schedule_from_config_hook(cfg)
    return cfg


def load_benchmark(name: str) -> ModuleType:
    """Import ``benchmarks/<name>.py`` as a module (``benchmarks`` is no
    package)."""
    path = osp.join(REPO, 'benchmarks', name + '.py')
    spec = importlib.util.spec_from_file_location('bench_' + name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tiny_synthetic_cfg(rel: str,
                       work_dir: str,
                       max_epochs: int = 1,
                       train_classes: int = 4,
                       per_class: int = 6,
                       batch=(4, 2),
                       size: int = 32,
                       random_aug: bool = True) -> Config:
    """A config from ``configs/`` shrunk for a CPU test on the built-in
    dataset: ``2*train_classes`` classes of ``per_class`` images of
    ``size`` pixels, ``N x M = batch``, ``max_epochs`` epochs."""
    cfg = Config.fromfile(config_path(rel))
    n, m = batch
    crop = size - size // 8
    train_pipeline = [
        dict(
            type='RandomResizedCrop', scale=crop, crop_ratio_range=(0.5, 1.0)),
        dict(type='RandomFlip', prob=0.5, direction='horizontal'),
        dict(type='PackInputs'),
    ] if random_aug else [
        dict(type='CenterCrop', crop_size=crop),
        dict(type='PackInputs')
    ]
    test_pipeline = [
        dict(type='CenterCrop', crop_size=crop),
        dict(type='PackInputs')
    ]
    data = dict(
        num_classes=2 * train_classes,
        samples_per_class=per_class,
        img_size=size)
    cfg.train_dataloader.dataset.update(data, pipeline=train_pipeline)
    cfg.train_dataloader.sampler.update(
        num_classes_per_batch=n, num_samples_per_class=m)
    cfg.train_dataloader.batch_size = n * m
    for key in ('val_dataloader', 'test_dataloader'):
        cfg[key].dataset.update(data, pipeline=test_pipeline)
        cfg[key].batch_size = 16
    model = cfg.model
    if 'num_classes' in model.loss_metric:
        model.loss_metric.num_classes = train_classes
    if 'graph_head' in model:
        model.graph_head.num_classes = train_classes
    cfg.train_cfg.update(max_epochs=max_epochs, val_interval=max_epochs)
    cfg.default_hooks.logger.interval = 1
    cfg.work_dir = work_dir
    return cfg


class LossRecorder(Hook):
    """Records every iteration's log variables (floats)."""
    priority = 'VERY_LOW'

    def __init__(self) -> None:
        self.records: List[dict] = []

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None) -> None:
        self.records.append({k: float(v) for k, v in outputs.items()})


def _shrink_pipeline(pipeline: list, size: int) -> None:
    """Make the 224-pixel pipelines of the benchmark configs ``size``."""
    for step in pipeline:
        if step['type'] == 'RandomResizedCrop':
            step['scale'] = size
        elif step['type'] == 'ResizeEdge':
            step['scale'] = size + size // 8
        elif step['type'] == 'CenterCrop':
            step['crop_size'] = size


def tiny_fixture_cfg(rel: str,
                     work_dir: str,
                     roots: dict,
                     size: int = 32,
                     num_classes: int = 3) -> Config:
    """A benchmark config from ``configs/`` shrunk for a CPU test on the
    miniature of its dataset (``roots``: dataset type -> data_root, with
    ``num_classes`` training classes): ``size``-pixel images, ``N =
    num_classes`` (M as configured), no pretrained weights, no workers."""
    cfg = Config.fromfile(config_path(rel))
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg[key]
        loader.dataset.data_root = roots[loader.dataset.type]
        _shrink_pipeline(loader.dataset.pipeline, size)
        loader.update(num_workers=0, persistent_workers=False)
    sampler = cfg.train_dataloader.sampler
    sampler.num_classes_per_batch = num_classes
    cfg.train_dataloader.batch_size = (
        num_classes * sampler.num_samples_per_class)
    model = cfg.model
    model.backbone.pop('init_cfg', None)
    if 'pretrained' in model.backbone:
        model.backbone.pretrained = None
    if 'img_size' in model.backbone:
        model.backbone.img_size = size
    if 'num_classes' in model.loss_metric:
        model.loss_metric.num_classes = num_classes
    if 'graph_head' in model:
        model.graph_head.num_classes = num_classes
    cfg.default_hooks.logger.interval = 1
    cfg.work_dir = work_dir
    return cfg


def tool_error(main: Callable[[], Any], capsys) -> str:
    """Run a tool's ``main`` as its command line does (through
    :func:`gcahng.utils.run_tool`) and return its error line, asserting
    that it stopped with status 1 and printed exactly one
    ``<tool>: error: ...`` line. (Other stderr output, such as logging's
    complaints about handlers that earlier tests' loggers left on closed
    capture streams, is not the tool's.)"""
    from gcahng.utils import run_tool
    with pytest.raises(SystemExit) as exit_info:
        run_tool(main)
    err = capsys.readouterr().err
    assert exit_info.value.code == 1, err
    lines = [line for line in err.splitlines() if ': error: ' in line]
    assert len(lines) == 1, err
    return lines[0]


#: A Python object printed on stderr (``sys.exit(dict)``, a stray
#: ``print(obj, file=sys.stderr)``): a line that is a dict / list / tuple
#: repr, or an object's default repr.
OBJECT_DUMP = re.compile(
    r"^\s*[\[{(]['\"\w].*[\]})],?\s*$|<[\w.]+ object at 0x", re.M)


def assert_clean_exit(proc: subprocess.CompletedProcess) -> None:
    """A tool's process succeeded: status 0, no traceback and no Python
    object dump on stderr."""
    out = proc.stdout[-2000:] + proc.stderr[-3000:]
    assert proc.returncode == 0, out
    assert 'Traceback' not in proc.stderr, out
    assert not OBJECT_DUMP.search(proc.stderr), proc.stderr[-3000:]


def assert_one_message(proc: subprocess.CompletedProcess, tool: str, *words:
                       str) -> str:
    """A tool's process stopped on a user error: status 1, one
    ``<tool>: error: ...`` message naming ``words`` and ending with the
    ``--debug`` hint, no traceback, no object dump; returns the message
    (one line for most errors; a dataset's layout errors list one problem
    per line)."""
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert 'Traceback' not in proc.stderr, proc.stderr[-2000:]
    assert not OBJECT_DUMP.search(proc.stderr), proc.stderr[-3000:]
    starts = [
        i for i, line in enumerate(proc.stderr.splitlines())
        if line.startswith(f'{tool}: error:')
    ]
    assert len(starts) == 1, proc.stderr[-2000:]
    message = '\n'.join(proc.stderr.splitlines()[starts[0]:])
    for word in words:
        assert word in message, message
    assert message.rstrip().endswith(
        '(run again with --debug for the traceback)'), message
    return message
