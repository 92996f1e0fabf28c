"""The pieces of global-batch mode (docs/algorithm.md §9) on a one-rank gloo
process group: GlobalBatchNorm's statistics and gradients, the gather, the
model's refusal to train on data that is not dealt globally, and the
multi-process fixes (wrapped children's checkpoint keys and paramwise_cfg).
The two-rank behaviour is tested in tests/test_tools/test_global_batch.py."""
import copy

import pytest
import torch
import torch.distributed as dist
import torch.nn as nn
from helpers import free_port
from mmengine.model import MMDistributedDataParallel
from mmengine.runner.checkpoint import load_state_dict
from test_gcahng_step import build_model, optim_cfg

from gcahng.engine.optim_wrappers import MultiOptimWrapperConstructor
from gcahng.models.retrievers import dml_retriever
from gcahng.models.utils import (GlobalBatch, GlobalBatchNorm,
                                 convert_global_batchnorm)
from gcahng.models.utils import global_batchnorm as gbn


@pytest.fixture
def process_group():
    dist.init_process_group(
        'gloo',
        init_method=f'tcp://127.0.0.1:{free_port()}',
        rank=0,
        world_size=1)
    try:
        yield
    finally:
        dist.destroy_process_group()


@pytest.mark.parametrize('shape', [(7, 5), (6, 5, 3, 4)])
def test_global_batchnorm_matches_batchnorm(process_group, monkeypatch, shape):
    """The all-gathered statistics path (forced on one rank) gives
    BatchNorm's output, input/weight/bias gradients and running stats."""
    monkeypatch.setattr(gbn, 'distributed_world_size', lambda: 2)
    torch.manual_seed(0)
    ref = (nn.BatchNorm1d if len(shape) == 2 else nn.BatchNorm2d)(5)
    nn.init.uniform_(ref.weight, 0.5, 1.5)
    nn.init.uniform_(ref.bias, -0.5, 0.5)
    ours = convert_global_batchnorm(copy.deepcopy(ref))
    assert isinstance(ours, GlobalBatchNorm)
    x = (torch.randn(shape, dtype=torch.float64) * 3 + 2).float()
    grad = torch.randn(shape)
    outs = []
    for bn in (ref, ours):
        xi = x.clone().requires_grad_()
        y = bn(xi)
        y.backward(grad)
        outs.append((y, xi.grad, bn.weight.grad, bn.bias.grad, bn.running_mean,
                     bn.running_var))
    for a, b in zip(*outs):
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-5)
    assert int(ours.num_batches_tracked) == 1


def test_convert_keeps_state_and_frozen_flags():
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4))
    model[1].weight.requires_grad_(False)
    before = copy.deepcopy(model.state_dict())
    convert_global_batchnorm(model)
    assert isinstance(model[1], GlobalBatchNorm)
    assert not model[1].weight.requires_grad
    after = model.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_gather_of_one_share_is_the_batch(process_group):
    batch = GlobalBatch([3], 2, 0)
    x = torch.randn(6, 4, requires_grad=True)
    y = batch.gather(x)
    torch.testing.assert_close(y, x)
    y.sum().backward()
    torch.testing.assert_close(x.grad, torch.ones_like(x))


def test_model_gathers_only_in_global_batch_mode(process_group, monkeypatch):
    """global_batch=True on several ranks gathers the shares (here one
    rank's: the batch itself); global_batch=False or one process leaves the
    labels alone. Nothing is read from the message hub."""
    model = build_model()
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    batch, out = model.gather_labels(labels)  # one process
    assert batch is None and out is labels
    monkeypatch.setattr(dml_retriever, 'distributed_world_size', lambda: 2)
    batch, out = model.gather_labels(labels)
    assert batch.shares == (3, ) and torch.equal(out, labels)
    with pytest.raises(ValueError, match='group order'):
        model.gather_labels(torch.tensor([0, 1, 2, 1, 0, 2]))
    model.global_batch = False
    batch, out = model.gather_labels(labels)
    assert batch is None and out is labels


def _wrap_children(model):
    for name in ('backbone', 'loss_metric'):
        setattr(model, name, MMDistributedDataParallel(getattr(model, name)))
    return model


def test_checkpoint_of_wrapped_children_loads_unwrapped(process_group):
    """MMSeparateDistributedDataParallel wraps each child: the state dict
    keeps the model's keys, so MMEngine's loader fills every parameter."""
    wrapped = _wrap_children(build_model())
    state = wrapped.state_dict()
    assert not any('.module.' in k for k in state)
    fresh = build_model()
    assert state.keys() == fresh.state_dict().keys()
    load_state_dict(_wrap_children(fresh), state, strict=True)
    proxies = fresh.loss_metric.module.proxies
    assert torch.equal(proxies, wrapped.loss_metric.module.proxies)


def test_paramwise_cfg_applies_to_wrapped_children(process_group):
    model = _wrap_children(build_model())
    wrappers = MultiOptimWrapperConstructor(optim_cfg())(model)
    proxies = model.loss_metric.module.proxies
    lrs = [
        g['lr'] for g in wrappers['metric'].optimizer.param_groups
        if any(p is proxies for p in g['params'])
    ]
    assert lrs == [pytest.approx(1.0)]  # 1e-2 x lr_mult 100


def test_checkpoint_with_wrapped_keys_still_loads(process_group):
    """A multi-process checkpoint written before the state-dict post-hook
    holds ``backbone.module.<name>``: it loads, strictly, into a model whose
    children are plain and into one whose children are wrapped."""

    def old_key(key):
        for child in ('backbone.', 'loss_metric.'):
            if key.startswith(child):
                return f'{child}module.{key[len(child):]}'
        return key

    source = build_model()
    old_style = {old_key(k): v for k, v in source.state_dict().items()}
    for fresh in (build_model(), _wrap_children(build_model())):
        load_state_dict(fresh, dict(old_style), strict=True)
        for (name, a), b in zip(source.state_dict().items(),
                                fresh.state_dict().values()):
            assert torch.equal(a, b), name
    plain = build_model()
    plain.load_state_dict(dict(old_style))  # torch's own loader too
    assert torch.equal(plain.loss_metric.proxies, source.loss_metric.proxies)
