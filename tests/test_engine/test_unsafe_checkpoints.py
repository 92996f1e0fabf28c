"""Unsafe checkpoints are refused with our one-line message, never run.

Two payloads go through every loading path: a ``getattr`` chain (the
allow-listed ``builtins.getattr`` used to reach a function's
``__globals__``) and the classic ``__reduce__`` calling ``os.system``.
"""
import io
import os
import os.path as osp
import pickle
import sys
import zipfile

import pytest
import torch
from helpers import load_tool, tiny_synthetic_cfg, tool_error
from mmengine.runner import Runner, load_checkpoint

from gcahng.models.backbones.pretrained import (PretrainedWeightsError,
                                                load_pretrained_state_dict)
from gcahng.utils import UnsafeCheckpointError, safe_torch_load

BASELINE = 'baselines/r18_pa_synthetic.py'


class _SystemCall:
    """Unpickling runs ``os.system(command)``."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command, ))


def _reduce_payload(path: str, marker: str) -> None:
    torch.save(
        dict(state_dict={}, meta=dict(x=_SystemCall(f'touch {marker}'))), path)


# getattr(getattr(HistoryBuffer, '__init__'), '__globals__'): with the real
# getattr allow-listed this hands out the module's globals (os, ...).
_GETATTR_CHAIN = (b'\x80\x02c__builtin__\ngetattr\nq\x00h\x00'
                  b'cmmengine.logging.history_buffer\nHistoryBuffer\n'
                  b'X\x08\x00\x00\x00__init__\x86R'
                  b'X\x0b\x00\x00\x00__globals__\x86R.')


def _getattr_payload(path: str) -> None:
    """A real torch zip checkpoint whose ``data.pkl`` is the chain."""
    buf = io.BytesIO()
    torch.save({}, buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename.endswith('/data.pkl'):
                data = _GETATTR_CHAIN
            dst.writestr(info, data)


@pytest.fixture(params=['getattr', 'reduce'])
def payload(request, tmp_path):
    path = str(tmp_path / f'{request.param}.pth')
    marker = str(tmp_path / 'pwned')
    if request.param == 'reduce':
        _reduce_payload(path, marker)
    else:
        _getattr_payload(path)
    yield request.param, path
    assert not osp.exists(marker), 'the payload ran'


def _assert_ours(text: str, kind: str) -> None:
    assert 'refused to load' in text and 'may run code' in text
    assert 'weights_only=False' not in text.split('convert it once')[0]
    assert 'will likely succeed' not in text
    assert ('getattr' if kind == 'getattr' else 'system') in text
    assert '\n' not in text.strip()


def test_getattr_chain_is_plain_pickle_that_works_without_safety(tmp_path):
    """The chain payload is valid: unrestricted unpickling returns the
    globals of history_buffer.py (with ``np``), so refusing it matters."""
    loaded = pickle.loads(_GETATTR_CHAIN)
    assert 'np' in loaded


def test_safe_torch_load(payload):
    kind, path = payload
    with pytest.raises(UnsafeCheckpointError) as e:
        safe_torch_load(path)
    _assert_ours(str(e.value), kind)


def test_load_checkpoint_and_load_from(payload):
    kind, path = payload
    with pytest.raises(UnsafeCheckpointError) as e:
        load_checkpoint(torch.nn.Linear(1, 1), path)
    _assert_ours(str(e.value), kind)


def test_runner_resume(payload, tmp_path):
    kind, path = payload
    cfg = tiny_synthetic_cfg(BASELINE, str(tmp_path / 'work'))
    cfg.resume, cfg.load_from = True, path
    runner = Runner.from_cfg(cfg)
    with pytest.raises(UnsafeCheckpointError) as e:
        runner.load_or_resume()
    _assert_ours(str(e.value), kind)


def test_tools_test(payload, tmp_path, monkeypatch, capsys):
    kind, path = payload
    cfg_file = str(tmp_path / 'cfg.py')
    tiny_synthetic_cfg(BASELINE, str(tmp_path / 'work')).dump(cfg_file)
    monkeypatch.setattr(
        sys, 'argv',
        ['test.py', cfg_file, path, '--work-dir',
         str(tmp_path / 'work')])
    _assert_ours(tool_error(lambda: load_tool('test.py').main(), capsys), kind)


def test_tools_train_resume(payload, tmp_path, monkeypatch, capsys):
    kind, path = payload
    cfg_file = str(tmp_path / 'cfg.py')
    tiny_synthetic_cfg(BASELINE, str(tmp_path / 'work')).dump(cfg_file)
    monkeypatch.setattr(sys, 'argv', [
        'train.py', cfg_file, '--resume', path, '--work-dir',
        str(tmp_path / 'work')
    ])
    _assert_ours(
        tool_error(lambda: load_tool('train.py').main(), capsys), kind)


def test_backbone_pretrained(payload):
    kind, path = payload
    with pytest.raises(PretrainedWeightsError) as e:
        load_pretrained_state_dict(path, 'ResNet-50')
    _assert_ours(str(e.value), kind)


def test_official_converter(payload, tmp_path, monkeypatch, capsys):
    kind, path = payload
    monkeypatch.setattr(
        sys, 'argv',
        ['conv.py', path, str(tmp_path / 'out.pth')])
    _assert_ours(
        tool_error(
            lambda: load_tool('model_converters/gcahng_official_to_mmengine.py'
                              ).main(), capsys), kind)
    assert not osp.exists(str(tmp_path / 'out.pth'))


def test_checkpoint_loads_in_a_fresh_process(tmp_path):
    """No HistoryBuffer exists yet there (its statistics registry is empty
    until one is made), as in ``tools/test.py``."""
    import subprocess

    from mmengine.logging import HistoryBuffer
    path = str(tmp_path / 'hub.pth')
    buf = HistoryBuffer()
    buf.update(1.0)
    torch.save(dict(state_dict={}, message_hub=dict(log_scalars=buf)), path)
    code = ('import gcahng, torch, mmengine.logging as m; '
            'assert not m.HistoryBuffer._statistics_methods; '
            f'from gcahng.utils import safe_torch_load as s; s({path!r}); '
            'print("ok")')
    env = dict(
        os.environ,
        PYTHONPATH=osp.dirname(
            osp.dirname(osp.dirname(osp.abspath(__file__)))))
    out = subprocess.run([sys.executable, '-c', code],
                         capture_output=True,
                         text=True,
                         env=env)
    assert out.stdout.strip() == 'ok', out.stderr[-2000:]
