"""The authors' checkpoint layout converts into our models, key for key."""
import os.path as osp
import re

import pytest
import torch
import torchvision
from helpers import load_tool, tool_error
from mmengine.registry import init_default_scope

from gcahng.registry import MODELS

REFERENCE = osp.join(
    osp.dirname(__file__), '..', 'data', 'reference',
    'official_checkpoint_keys.txt')
converter = load_tool('model_converters/gcahng_official_to_mmengine.py')


def reference_sections():
    """{'Resnet50': {key: shape}, 'Googlenet': {...}} from the key list."""
    sections, current = {}, None
    for line in open(REFERENCE):
        head = re.match(r'# (\w+) backbone', line)
        if head:
            current = sections.setdefault(head.group(1), {})
        elif current is not None and '\t' in line:
            key, shape = line.rstrip('\n').split('\t')
            current[key] = tuple(int(s) for s in re.findall(r'\d+', shape))
    return sections


def official_state(arch):
    """A state dict in the authors' names and shapes: the listed keys plus
    the elided torchvision backbone keys (the authors' reference README)."""
    sections = reference_sections()
    listed = dict(sections[arch])
    if arch == 'Googlenet':  # the graph head is listed once, under R50
        listed.update({
            k: v
            for k, v in sections['Resnet50'].items() if k.startswith('gnn.')
        })
        tv = torchvision.models.googlenet(
            aux_logits=True, init_weights=False).state_dict()
        prefix = 'feature_extractor.backbone.'
    else:
        tv = torchvision.models.resnet50().state_dict()
        prefix = 'feature_extractor.backbone.model.'
    state = {prefix + k: v for k, v in tv.items()}
    for key, shape in listed.items():
        if key in state:
            assert tuple(state[key].shape) == shape, key
        state[key] = torch.randn(shape) if shape else torch.tensor(3)
    return state


def model_for(arch):
    init_default_scope('gcahng')
    backbone = dict(type='ResNet', depth=50, out_indices=(3, )) \
        if arch == 'Resnet50' else dict(type='GoogLeNet')
    channels = 2048 if arch == 'Resnet50' else 1024
    return MODELS.build(
        dict(
            type='GCAHNG',
            backbone=backbone,
            neck=dict(
                type='EmbeddingNeck', in_channels=channels, out_channels=512),
            loss_metric=dict(type='NPairLoss'),
            graph_head=dict(
                type='GCLHead',
                embed_dim=512,
                num_classes=100,
                num_layers=2,
                num_heads=4)))


@pytest.mark.parametrize('arch', ['Resnet50', 'Googlenet'])
def test_official_checkpoint_loads_strictly(arch):
    official = official_state(arch)
    converted = converter.convert(official)
    model = model_for(arch)
    result = model.load_state_dict(converted, strict=False)
    assert result.missing_keys == []
    assert result.unexpected_keys == []
    # values land where they should
    assert torch.equal(model.neck.fc.weight,
                       official['feature_extractor.fc.1.weight'])
    assert torch.equal(model.classifier.weight,
                       official['softmax_classifier.weight'])
    assert torch.equal(
        model.graph_head.state_dict()['gnn.1.edge_model.linear.3.weight'],
        official['gnn.gnn.1.edge_model.linear.3.weight'])


def test_cli_writes_loadable_checkpoint(tmp_path, monkeypatch, capsys):
    src, dst = str(tmp_path / 'official.pth'), str(tmp_path / 'ours.pth')
    torch.save(dict(state_dict=official_state('Resnet50')), src)
    monkeypatch.setattr('sys.argv', ['convert', src, dst])
    converter.main()
    ckpt = torch.load(dst, weights_only=True)
    assert 'neck.bn.running_mean' in ckpt['state_dict']
    assert not any(k.startswith('backbone.fc.') for k in ckpt['state_dict'])
    assert 'wrote' in capsys.readouterr().out


def test_foreign_keys_are_refused():
    with pytest.raises(KeyError, match='not in the authors'):
        converter.convert({'encoder.layer.weight': torch.zeros(1)})


def test_cli_refuses_config_of_other_width_in_one_line(tmp_path, monkeypatch,
                                                       capsys):
    """Mis-shaped weights: one message naming the count, no traceback."""
    from mmengine.config import Config
    model = model_for('Resnet50')  # noqa: F841  (registers the scope)
    cfg = Config(
        dict(
            default_scope='gcahng',
            model=dict(
                type='GCAHNG',
                backbone=dict(type='ResNet', depth=50, out_indices=(3, )),
                neck=dict(
                    type='EmbeddingNeck', in_channels=2048, out_channels=128),
                loss_metric=dict(type='NPairLoss'),
                graph_head=dict(
                    type='GCLHead',
                    embed_dim=128,
                    num_classes=100,
                    num_layers=2,
                    num_heads=4))))
    cfg_file = str(tmp_path / 'cfg.py')
    cfg.dump(cfg_file)
    src, dst = str(tmp_path / 'official.pth'), str(tmp_path / 'ours.pth')
    torch.save(dict(state_dict=official_state('Resnet50')), src)
    monkeypatch.setattr('sys.argv',
                        ['convert', src, dst, '--config', cfg_file])
    text = tool_error(lambda: converter.main(), capsys)
    assert 'does not fit the model' in text and 'mis-shaped' in text
    assert re.search(r'\d+ mis-shaped', text)
    assert not osp.exists(dst)
