"""Search and export work with any trained model: the image pipeline for
files whatever the training data, the backbone and neck loaded strictly
and the training-only modules skipped."""
import os.path as osp

import mmcv
import numpy as np
import pytest
import torch
from fixtures.retrieval_images import IMAGES
from helpers import config_path
from mmengine.config import Config

from gcahng.apis import ImageSearcher
from gcahng.apis.inference_pipeline import PipelineError, inference_pipeline
from gcahng.utils import CheckpointMismatchError, checkpoint_fit, is_user_error

JPEG = osp.join(IMAGES, 'printer', 'tango.jpg')


def test_pipeline_for_files():
    """A config whose test data are made in memory gets a file loader in
    front of its resize / crop; one that reads files keeps its own."""
    synthetic = Config.fromfile(config_path('gcahng/r18_pa_synthetic.py'))
    steps = synthetic.test_dataloader.dataset.pipeline
    assert all(s['type'] != 'LoadImageFromFile' for s in steps)
    assert inference_pipeline(synthetic) == [dict(type='LoadImageFromFile')
                                             ] + [dict(s) for s in steps]
    icons = Config.fromfile(config_path('gcahng/r18_pa_icons.py'))
    assert inference_pipeline(icons) == [
        dict(s) for s in icons.test_dataloader.dataset.pipeline
    ]
    bare = Config(
        dict(
            test_dataloader=dict(
                dataset=dict(
                    pipeline=[dict(type='CenterCrop', crop_size=8)]))))
    assert [s['type'] for s in inference_pipeline(bare)
            ] == ['LoadImageFromFile', 'CenterCrop', 'PackInputs']


def test_a_config_without_test_pipeline_is_told_what_to_add():
    with pytest.raises(PipelineError) as info:
        inference_pipeline(Config(dict(model=dict())), 'my.py')
    message = str(info.value)
    assert message.startswith('my.py has no test pipeline')
    assert "test_dataloader = dict(dataset=dict(pipeline=[" in message
    assert is_user_error(info.value)


def test_the_demo_config_embeds_files():
    """The demo's config (images rendered in memory) embeds a JPEG file as
    it embeds the same image given as an array."""
    searcher = ImageSearcher(
        config_path('gcahng/r18_pa_synthetic.py'),
        device='cpu',
        num_workers=0,
        progress=False)
    np.testing.assert_allclose(
        searcher.embed(JPEG), searcher.embed(mmcv.imread(JPEG)), atol=1e-6)


def test_a_config_of_the_same_architecture_loads_the_checkpoint(
        trained, monkeypatch):
    """Other training classes (other graph head / classifier / proxy
    shapes): the backbone and neck load, the rest is skipped in one
    line; a mis-shaped neck is refused, naming the ways that exist."""
    logged = []
    monkeypatch.setattr(checkpoint_fit, 'print_log',
                        lambda msg, **kw: logged.append(msg))
    kwargs = dict(device='cpu', num_workers=0, progress=False)
    config = trained['configs']['leave_one_out']
    ref = ImageSearcher(config, trained['ckpt'], **kwargs).embed(IMAGES)
    other_classes = {
        'model.loss_metric.num_classes': 7,
        'model.graph_head.num_classes': 7
    }
    logged.clear()
    other = ImageSearcher(
        config, trained['ckpt'], cfg_options=other_classes, **kwargs)
    np.testing.assert_allclose(other.embed(IMAGES), ref, atol=1e-6)
    assert len(logged) == 1 and 'skipped' in logged[0]
    for module in ('graph_head', 'classifier', 'loss_metric'):
        assert module in logged[0]

    state = dict(trained['state'])
    state['neck.fc.weight'] = state['neck.fc.weight'][:16]
    wrong = str(trained['base'] / 'wrong_neck.pth')
    torch.save(dict(state_dict=state, meta={}), wrong)
    with pytest.raises(CheckpointMismatchError) as info:
        ImageSearcher(config, wrong, **kwargs)
    assert 'backbone and neck' in str(info.value)
    assert '--non-strict (ImageSearcher(strict=False))' in str(info.value)
    loose = ImageSearcher(config, wrong, strict=False, **kwargs)
    assert torch.equal(loose.model.backbone.conv1.weight,
                       trained['state']['backbone.conv1.weight'])
