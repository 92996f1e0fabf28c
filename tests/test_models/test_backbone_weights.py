"""Released backbone weights load key for key, offline (docs/algorithm.md §2).

Nothing is downloaded: state dicts are synthesised in each release's own
naming (torchvision's models for ResNet-50 and GoogLeNet, an explicit list of
DINO ViT-S/16 names and shapes) and loaded the way configs do it, by building
the backbone through ``MODELS`` and calling ``init_weights()``.
"""
import argparse
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
import torchvision
from mmengine.registry import init_default_scope
from mmpretrain.models.utils import resize_pos_embed

from gcahng.models.backbones import (DINOVisionTransformer,
                                     PretrainedWeightsError, convert_dino_vit,
                                     resolve_pretrained_source)
from gcahng.models.backbones.dino_vit import DINO_VITS16
from gcahng.registry import MODELS

RESNET50_FILE = 'resnet50-0676ba61.pth'
UNREACHABLE = 'http://127.0.0.1:9/x.pth'

#: ResNet-50 initialised by torchvision's weights (scheme torchvision://)
TORCHVISION_R50 = dict(
    type='TorchvisionResNet',
    depth=50,
    out_indices=(3, ),
    pretrained='torchvision://resnet50')


def build(cfg):
    init_default_scope('gcahng')
    return MODELS.build(cfg)


def assert_state_equal(model, source, skip=()):
    """Every tensor of ``model`` equals ``source``'s under the same name."""
    state = model.state_dict()
    expected = {k for k in source if not k.startswith(tuple(skip))}
    assert set(state) == expected
    for key, value in state.items():
        assert torch.equal(value, source[key]), key


@pytest.fixture(autouse=True)
def torch_home(tmp_path, monkeypatch):
    """A private, empty torch hub cache per test."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    return tmp_path / 'torch_home'


@pytest.fixture(scope='module')
def resnet50_source(tmp_path_factory):
    """torchvision ResNet-50 state dict (random, BN statistics too), saved
    under the release's file name."""
    torch.manual_seed(0)
    tv = torchvision.models.resnet50()
    for m in tv.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.5, 2)
            m.weight.data.uniform_(0.5, 1.5)
    path = tmp_path_factory.mktemp('weights') / RESNET50_FILE
    torch.save(tv.state_dict(), path)
    return tv, path


# ResNet-50 <- torchvision ------------------------------------------------


def test_resnet50_names_match_torchvision(resnet50_source):
    tv, path = resnet50_source
    model = build(
        dict(
            type='TorchvisionResNet',
            depth=50,
            out_indices=(3, ),
            pretrained=str(path)))
    model.init_weights()
    # same names as torchvision's, minus the classifier, values loaded
    assert_state_equal(model, tv.state_dict(), skip=('fc.', ))
    # and the same function: layer4 of torchvision == our (layer4, )
    tv.eval(), model.eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        ref = tv.layer4(
            tv.layer3(
                tv.layer2(tv.layer1(tv.maxpool(tv.relu(tv.bn1(
                    tv.conv1(x))))))))
        out = model(x)
    assert len(out) == 1
    torch.testing.assert_close(out[0], ref)


def test_resnet50_torchvision_scheme_reads_hub_cache(resnet50_source,
                                                     torch_home):
    assert resolve_pretrained_source('torchvision://resnet50').endswith(
        '/' + RESNET50_FILE)
    tv, path = resnet50_source
    cache = torch_home / 'hub' / 'checkpoints'
    cache.mkdir(parents=True)
    (cache / RESNET50_FILE).symlink_to(path)
    model = build(TORCHVISION_R50)
    model.init_weights()
    assert torch.equal(model.layer3[2].conv2.weight, tv.layer3[2].conv2.weight)


def test_resnet_refuses_pretrained_and_init_cfg():
    with pytest.raises(ValueError, match='not both'):
        build(
            dict(
                type='TorchvisionResNet',
                depth=18,
                pretrained='x.pth',
                init_cfg=dict(type='Pretrained', checkpoint='x.pth')))


# GoogLeNet <- torchvision -----------------------------------------------


def test_googlenet_names_match_torchvision(tmp_path):
    # the release was saved with the auxiliary heads
    tv = torchvision.models.googlenet(aux_logits=True, init_weights=True)
    path = tmp_path / 'googlenet-1378be20.pth'
    torch.save(tv.state_dict(), path)
    model = build(dict(type='GoogLeNet', pretrained=str(path)))
    model.init_weights()
    assert_state_equal(model, tv.state_dict(), skip=('fc.', 'aux1.', 'aux2.'))


# DINO ViT-S/16 <- the DINO release --------------------------------------


def dino_vits16_shapes(grid=14):
    """The DINO ViT-S/16 backbone's names and shapes, as released."""
    c, hidden = 384, 1536
    shapes = {
        'cls_token': (1, 1, c),
        'pos_embed': (1, 1 + grid * grid, c),
        'patch_embed.proj.weight': (c, 3, 16, 16),
        'patch_embed.proj.bias': (c, ),
    }
    for i in range(12):
        shapes.update({
            f'blocks.{i}.norm1.weight': (c, ),
            f'blocks.{i}.norm1.bias': (c, ),
            f'blocks.{i}.attn.qkv.weight': (3 * c, c),
            f'blocks.{i}.attn.qkv.bias': (3 * c, ),
            f'blocks.{i}.attn.proj.weight': (c, c),
            f'blocks.{i}.attn.proj.bias': (c, ),
            f'blocks.{i}.norm2.weight': (c, ),
            f'blocks.{i}.norm2.bias': (c, ),
            f'blocks.{i}.mlp.fc1.weight': (hidden, c),
            f'blocks.{i}.mlp.fc1.bias': (hidden, ),
            f'blocks.{i}.mlp.fc2.weight': (c, hidden),
            f'blocks.{i}.mlp.fc2.bias': (c, ),
        })
    shapes.update({'norm.weight': (c, ), 'norm.bias': (c, )})
    return shapes


def dino_state(grid=14, seed=0):
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for key, shape in dino_vits16_shapes(grid).items():
        value = torch.randn(shape, generator=gen) * 0.05
        if key.endswith(('norm1.weight', 'norm2.weight', 'norm.weight')):
            value += 1
        state[key] = value
    return state


def dino_full_checkpoint(teacher, student):
    """DINO's ``checkpoint.pth`` layout: the student is DDP-wrapped, the
    teacher not; both carry the DINO projection head."""
    head = {
        'head.mlp.0.weight': torch.randn(8, 384),
        'head.last_layer.weight_g': torch.ones(16, 1),
        'head.last_layer.weight_v': torch.randn(16, 8),
    }
    return {
        'student': {
            **{
                'module.backbone.' + k: v
                for k, v in student.items()
            },
            **{
                'module.' + k: v
                for k, v in head.items()
            }
        },
        'teacher': {
            **{
                'backbone.' + k: v
                for k, v in teacher.items()
            },
            **head
        },
        'optimizer': {
            'state': {},
            'param_groups': []
        },
        'epoch': 100,
        'args': argparse.Namespace(arch='vit_small', patch_size=16),
        'dino_loss': {
            'center': torch.zeros(1, 16)
        },
    }


def assert_dino_loaded(model, source):
    assert torch.equal(model.layers[3].attn.qkv.weight,
                       source['blocks.3.attn.qkv.weight'])
    assert torch.equal(model.layers[11].ffn.layers[1].bias,
                       source['blocks.11.mlp.fc2.bias'])
    assert torch.equal(model.ln1.weight, source['norm.weight'])
    assert torch.equal(model.ln1.bias, source['norm.bias'])
    assert torch.equal(model.patch_embed.projection.weight,
                       source['patch_embed.proj.weight'])
    assert torch.equal(model.cls_token, source['cls_token'])


def test_dino_names_convert_exactly():
    model = DINOVisionTransformer(img_size=224)
    result = model.load_state_dict(
        convert_dino_vit(dino_state()), strict=False)
    assert result.missing_keys == []
    assert result.unexpected_keys == []


def test_dino_release_loads_and_resizes_pos_embed(tmp_path):
    source = dino_state()
    path = tmp_path / 'dino_deitsmall16_pretrain.pth'
    torch.save(source, path)
    model = build(
        dict(type='DINOVisionTransformer', img_size=64, pretrained=str(path)))
    model.init_weights()
    assert_dino_loaded(model, source)
    # 14x14 grid of the release resized to the 4x4 grid of 64-pixel inputs
    assert model.pos_embed.shape == (1, 1 + 16, 384)
    expected = resize_pos_embed(source['pos_embed'], (14, 14), (4, 4),
                                'bicubic', 1)
    torch.testing.assert_close(model.pos_embed.data, expected)
    assert torch.equal(model.pos_embed[:, 0], source['pos_embed'][:, 0])


@pytest.mark.parametrize('key', ['teacher', 'student'])
def test_dino_full_checkpoint_loads(tmp_path, key):
    teacher, student = dino_state(seed=1), dino_state(seed=2)
    path = tmp_path / 'checkpoint.pth'
    torch.save(dino_full_checkpoint(teacher, student), path)
    cfg = dict(type='DINOVisionTransformer', img_size=32, pretrained=str(path))
    if key == 'student':
        cfg['checkpoint_key'] = 'student'
    model = build(cfg)
    model.init_weights()
    assert_dino_loaded(model, teacher if key == 'teacher' else student)


def dino_reference_forward(state, x, heads=6, eps=1e-6):
    """DINO's ``VisionTransformer.forward`` (CLS token after the final
    norm), written out from DINO's code for the released names."""
    B, c = x.shape[0], state['cls_token'].shape[-1]
    x = F.conv2d(
        x,
        state['patch_embed.proj.weight'],
        state['patch_embed.proj.bias'],
        stride=16).flatten(2).transpose(1, 2)
    x = torch.cat([state['cls_token'].expand(B, -1, -1), x], dim=1)
    x = x + state['pos_embed']
    N = x.shape[1]
    for i in range(12):
        p = f'blocks.{i}.'
        h = F.layer_norm(x, (c, ), state[p + 'norm1.weight'],
                         state[p + 'norm1.bias'], eps)
        qkv = F.linear(h, state[p + 'attn.qkv.weight'],
                       state[p + 'attn.qkv.bias'])
        q, k, v = qkv.reshape(B, N, 3, heads,
                              c // heads).permute(2, 0, 3, 1, 4)
        attn = (q @ k.transpose(-2, -1) * (c // heads)**-0.5).softmax(-1)
        h = (attn @ v).transpose(1, 2).reshape(B, N, c)
        x = x + F.linear(h, state[p + 'attn.proj.weight'],
                         state[p + 'attn.proj.bias'])
        h = F.layer_norm(x, (c, ), state[p + 'norm2.weight'],
                         state[p + 'norm2.bias'], eps)
        h = F.gelu(
            F.linear(h, state[p + 'mlp.fc1.weight'],
                     state[p + 'mlp.fc1.bias']))
        x = x + F.linear(h, state[p + 'mlp.fc2.weight'],
                         state[p + 'mlp.fc2.bias'])
    x = F.layer_norm(x, (c, ), state['norm.weight'], state['norm.bias'], eps)
    return x[:, 0]


def test_dino_forward_matches_dino_and_feeds_the_neck(tmp_path):
    # a 32-pixel model loading a 2x2-grid state dict: no resizing, so the
    # output must be DINO's function of the same weights
    source = dino_state(grid=2)
    path = tmp_path / 'dino_32.pth'
    torch.save(source, path)
    model = build(
        dict(type='DINOVisionTransformer', img_size=32, pretrained=str(path)))
    model.init_weights()
    model.eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        out = model(x)
        ref = dino_reference_forward(source, x)
    assert isinstance(out, tuple) and len(out) == 1
    assert out[0].shape == (2, 384)
    torch.testing.assert_close(out[0], ref, atol=1e-5, rtol=1e-5)
    neck = build(
        dict(
            type='EmbeddingNeck',
            in_channels=384,
            out_channels=384,
            pooling='none',
            orthogonal_init=True))
    assert neck(out).shape == (2, 384)


# One clear error when weights cannot be fetched -------------------------

BACKBONES = {
    'resnet50': (dict(type='TorchvisionResNet', depth=50,
                      out_indices=(3, )), RESNET50_FILE),
    'googlenet': (dict(type='GoogLeNet'), 'googlenet-1378be20.pth'),
    'dino': (dict(type='DINOVisionTransformer',
                  img_size=32), osp.basename(DINO_VITS16)),
}


@pytest.mark.parametrize('arch', sorted(BACKBONES))
def test_unreachable_url_fails_clearly(arch, torch_home):
    cfg, _ = BACKBONES[arch]
    model = build(dict(cfg, pretrained=UNREACHABLE))
    with pytest.raises(PretrainedWeightsError) as info:
        model.init_weights()
    message = str(info.value)
    assert UNREACHABLE in message
    assert "pretrained='/path/to/x.pth'" in message
    assert str(torch_home / 'hub' / 'checkpoints' / 'x.pth') in message


@pytest.mark.parametrize('arch', sorted(BACKBONES))
def test_missing_file_fails_clearly(arch, tmp_path):
    cfg, release = BACKBONES[arch]
    missing = str(tmp_path / 'nowhere' / 'weights.pth')
    model = build(dict(cfg, pretrained=missing))
    with pytest.raises(PretrainedWeightsError) as info:
        model.init_weights()
    message = str(info.value)
    assert missing in message
    assert f"pretrained='/path/to/{release}'" in message
    assert 'https://' in message  # where to get the release


def test_offline_torchvision_scheme_names_the_url(monkeypatch):
    # pretend torchvision's server is unreachable (the hub cache is empty)
    monkeypatch.setattr(
        'gcahng.models.backbones.pretrained.get_torchvision_models',
        lambda: {'resnet50': UNREACHABLE[:-5] + RESNET50_FILE})
    model = build(TORCHVISION_R50)
    with pytest.raises(PretrainedWeightsError) as info:
        model.init_weights()
    message = str(info.value)
    assert "'torchvision://resnet50' (http://127.0.0.1:9/" in message
    assert f"pretrained='/path/to/{RESNET50_FILE}'" in message


def test_unknown_torchvision_name_fails_clearly():
    with pytest.raises(PretrainedWeightsError, match='no model named'):
        resolve_pretrained_source('torchvision://resnet5O')
