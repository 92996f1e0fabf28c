"""A config's unknown types and arguments are found before anything is
built, named by their config key, and raised as a user error by type."""
import os.path as osp

import pytest
from helpers import REPO
from mmengine.config import Config

from gcahng.datasets import Widelands
from gcahng.utils import ConfigError, check_config, is_user_error
from gcahng.utils.config_check import accepted_arguments

CONFIG = osp.join(REPO, 'configs', 'gcahng', 'r18_pa_widelands.py')


def checked(**options) -> None:
    cfg = Config.fromfile(CONFIG)
    cfg.merge_from_dict(options)
    check_config(cfg)


def test_a_shipped_config_passes():
    checked()


@pytest.mark.parametrize('key, registry', [
    ('model.neck', 'model'),
    ('model.loss_syn', 'model'),
    ('train_dataloader.dataset', 'dataset'),
    ('train_dataloader.batch_sampler', 'data sampler'),
    ('default_hooks.logger', 'hook'),
    ('val_evaluator', 'metric'),
    ('visualizer', 'visualizer'),
    ('optim_wrapper.metric.optimizer', 'optimizer'),
])
def test_an_unknown_type_names_its_key_and_registry(key, registry):
    with pytest.raises(ConfigError) as info:
        checked(**{f'{key}.type': 'NoSuchThing'})
    message = str(info.value)
    assert message.startswith(f'config key {key}.type: ')
    assert f"'NoSuchThing' is not in the {registry} registry" in message
    assert is_user_error(info.value)


def test_list_items_are_numbered_and_close_names_suggested():
    cfg = Config.fromfile(CONFIG)
    cfg.train_dataloader.dataset.pipeline[1].type = 'RandomResizedCrp'
    cfg.custom_hooks[0].type = 'BackboneWarmupHok'
    with pytest.raises(
            ConfigError,
            match=r'pipeline\[1\]\.type: '
            r"'RandomResizedCrp' .*did you mean 'RandomResizedCrop'"):
        check_config(cfg)
    cfg.train_dataloader.dataset.pipeline[1].type = 'RandomResizedCrop'
    with pytest.raises(ConfigError, match=r'custom_hooks\[0\]\.type'):
        check_config(cfg)


@pytest.mark.parametrize(
    'key, cls',
    [
        ('model.neck', 'EmbeddingNeck'),
        ('model.graph_head', 'GCLHead'),
        ('model.backbone', 'ResNet'),  # mmpretrain's
        ('model', 'GCAHNG'),
        # our dataset forwards **kwargs to mmengine's BaseDataset
        ('train_dataloader.dataset', 'Widelands'),
        ('default_hooks.logger', 'LoggerHook'),
        ('param_scheduler.metric.0', 'StepLR'),
    ])
def test_an_unknown_argument_names_its_key_and_class(key, cls):
    cfg = Config.fromfile(CONFIG)
    node = cfg
    for part in key.split('.'):
        node = node[int(part)] if part.isdigit() else node[part]
    node['no_such_option'] = 1
    with pytest.raises(ConfigError) as info:
        check_config(cfg)
    message = str(info.value)
    assert message.startswith(f'config key {key.replace(".0", "[0]")}: ')
    assert f"{cls} takes no argument 'no_such_option'" in message


def test_arguments_forwarded_to_a_base_class_are_accepted():
    # Widelands -> DMLImageDataset/BaseDataset: data_root, pipeline, ...
    checked(**{'train_dataloader.dataset.lazy_init': True})
    assert {'data_root', 'pipeline',
            'lazy_init'} <= accepted_arguments(Widelands)


def test_dicts_read_by_their_parent_are_not_argument_checked():
    """``norm_cfg`` is read by the backbone (``requires_grad`` is not an
    argument of BatchNorm), ``clip_grad``'s ``type='value'`` is no
    registered type (every shipped config has one), ``init_cfg`` belongs
    to another registry."""
    checked(
        **{
            'model.backbone.norm_cfg':
            dict(type='BN', requires_grad=False),
            'model.backbone.init_cfg':
            dict(type='Pretrained', checkpoint='x.pth', prefix='backbone'),
        })


def test_unknowable_keyword_arguments_are_not_checked():

    class Open:

        def __init__(self, **kwargs) -> None:
            self.kwargs = kwargs

    class Closed(Open):

        def __init__(self, a: int = 0, **kwargs) -> None:
            super().__init__(**kwargs)

    class Explicit:

        def __init__(self, a: int, b: int = 1) -> None:
            pass

    assert accepted_arguments(Open) is None
    assert accepted_arguments(Closed) is None
    assert accepted_arguments(Explicit) == {'a', 'b'}
    assert accepted_arguments(lambda x, y=1: None) == {'x', 'y'}
    assert accepted_arguments(lambda x, *rest: None) == {'x'}
