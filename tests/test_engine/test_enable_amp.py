"""``--amp``: every optimiser wrapper of a config becomes an
``AmpOptimWrapper`` (tools/train.py and the speed benchmarks)."""
from mmengine.config import Config

from gcahng.utils import enable_amp


def test_every_wrapper_of_a_multi_optimiser_config():
    cfg = Config(
        dict(
            optim_wrapper=dict(
                constructor='MultiOptimWrapperConstructor',
                metric=dict(type='OptimWrapper', optimizer=dict(type='SGD')),
                graph=dict(optimizer=dict(type='AdamW')),
                cls=dict(
                    type='AmpOptimWrapper',
                    loss_scale=512.0,
                    optimizer=dict(type='AdamW')))))
    enable_amp(cfg)
    ow = cfg.optim_wrapper
    assert ow.constructor == 'MultiOptimWrapperConstructor'
    for name in ('metric', 'graph'):
        assert ow[name].type == 'AmpOptimWrapper'
        assert ow[name].loss_scale == 'dynamic'
    assert ow.cls.loss_scale == 512.0  # an AMP wrapper is left as it is


def test_single_wrapper_config():
    cfg = Config(dict(optim_wrapper=dict(optimizer=dict(type='SGD'))))
    enable_amp(cfg)
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.loss_scale == 'dynamic'
