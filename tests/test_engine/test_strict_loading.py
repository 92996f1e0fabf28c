"""A checkpoint that does not fit the config is refused, in one line."""
import json
import os.path as osp
import sys

import pytest
import torch
from helpers import load_tool, tiny_synthetic_cfg, tool_error
from mmengine.runner import Runner

BASELINE = 'baselines/r18_pa_synthetic.py'


@pytest.fixture(scope='module')
def r18_checkpoint(tmp_path_factory):
    work = str(tmp_path_factory.mktemp('r18'))
    cfg = tiny_synthetic_cfg(BASELINE, work)
    cfg.default_hooks.checkpoint.save_best = None
    Runner.from_cfg(cfg).train()
    return osp.join(work, 'epoch_1.pth')


def _cfg_file(tmp_path, embed_dim=None):
    cfg = tiny_synthetic_cfg(BASELINE, str(tmp_path / 'work'))
    if embed_dim is not None:
        cfg.model.neck.out_channels = embed_dim
        cfg.model.loss_metric.embed_dim = embed_dim
    path = str(tmp_path / 'cfg.py')
    cfg.dump(path)
    return path


def _tools_test(monkeypatch, tmp_path, cfg_file, ckpt, *extra):
    out = str(tmp_path / 'metrics.json')
    monkeypatch.setattr(sys, 'argv', [
        'test.py', cfg_file, ckpt, '--work-dir',
        str(tmp_path / 'work'), '--out', out, *extra
    ])
    load_tool('test.py').main()
    return json.load(open(out))


def test_other_width_is_refused_by_tools_test(r18_checkpoint, tmp_path,
                                              monkeypatch, capsys):
    text = tool_error(
        lambda: _tools_test(monkeypatch, tmp_path, _cfg_file(tmp_path, 64),
                            r18_checkpoint), capsys)
    assert 'does not fit the model' in text and '\n' not in text
    # Linear weight and bias of the neck and the proxies
    assert '3 mis-shaped' in text and 'neck.' in text
    assert 'missing' not in text and 'unexpected' not in text
    assert '--non-strict' in text and 'graph_head.' in text


def test_non_strict_loads_the_matching_part(r18_checkpoint, tmp_path,
                                            monkeypatch):
    metrics = _tools_test(monkeypatch, tmp_path, _cfg_file(tmp_path, 64),
                          r18_checkpoint, '--non-strict')
    assert 'retrieval/R@1' in metrics


def test_inference_checkpoint_without_training_keys_loads(
        r18_checkpoint, tmp_path, monkeypatch):
    ckpt = torch.load(r18_checkpoint, weights_only=True)
    stripped = {
        k: v
        for k, v in ckpt['state_dict'].items()
        if not k.startswith('loss_metric.')
    }
    assert len(stripped) < len(ckpt['state_dict'])
    path = str(tmp_path / 'inference.pth')
    torch.save(dict(state_dict=stripped, meta={}), path)
    metrics = _tools_test(monkeypatch, tmp_path, _cfg_file(tmp_path), path)
    assert 'retrieval/R@1' in metrics


def test_unexpected_and_missing_keys_are_counted(r18_checkpoint, tmp_path,
                                                 monkeypatch, capsys):
    ckpt = torch.load(r18_checkpoint, weights_only=True)
    state = dict(ckpt['state_dict'])
    state.pop(sorted(k for k in state if k.startswith('neck.'))[0])
    state['extra.weight'] = torch.zeros(1)
    path = str(tmp_path / 'odd.pth')
    torch.save(dict(state_dict=state, meta={}), path)
    text = tool_error(
        lambda: _tools_test(monkeypatch, tmp_path, _cfg_file(tmp_path), path),
        capsys)
    assert '1 missing (neck.' in text and '1 unexpected (extra.weight)' in text


def _tools_train(monkeypatch, tmp_path, ckpt, *extra):
    monkeypatch.setattr(sys, 'argv', [
        'train.py',
        _cfg_file(tmp_path, 64), '--work-dir',
        str(tmp_path / 'work'), '--no-validate', '--cfg-options',
        f'load_from={ckpt}', *extra
    ])
    load_tool('train.py').main()


def test_load_from_is_strict(r18_checkpoint, tmp_path, monkeypatch, capsys):
    text = tool_error(
        lambda: _tools_train(monkeypatch, tmp_path, r18_checkpoint), capsys)
    assert '3 mis-shaped' in text and 'load_strict=False' in text


def test_load_from_non_strict(r18_checkpoint, tmp_path, monkeypatch):
    _tools_train(monkeypatch, tmp_path, r18_checkpoint, 'load_strict=False')
    assert osp.isfile(str(tmp_path / 'work' / 'epoch_1.pth'))
