"""The speed optimisations compute what the plain formulas compute.

Each fast path of the graph head (docs/algorithm.md §3), CACAI
(docs/algorithm.md §4) and the training step (docs/algorithm.md §6) is checked
against a straightforward computation: full-layout broadcasting against index
gathers, the symmetric half against all ``B²`` edges (values, gradients,
BatchNorm statistics), the fused CACAI against
:meth:`CACAIGenerator.interpolate` + the fusion recursion, and one optimised
``train_step`` against a literal transcription of docs/algorithm.md §6.
"""
import copy
import math

import pytest
import test_gcahng_step as step_test
import torch
import torch.nn.functional as F
from mmpretrain.structures import DataSample

from gcahng.engine.optim_wrappers import MultiOptimWrapperConstructor
from gcahng.models.generators import CACAIGenerator
from gcahng.models.heads import GCLHead
from gcahng.models.retrievers.gcahng import backward_shared
from gcahng.models.utils import (EdgeLayout, PairAttention, correlation_edges,
                                 group_layout)

D, C = 12, 7


def batch(n: int = 4, m: int = 3, d: int = D, seed: int = 0, dtype=None):
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(n * m, d, generator=gen, dtype=dtype or torch.float32)
    labels = torch.tensor([3, 0, 5, 1, 6, 2][:n]).repeat(m)
    return z, labels


def head(**kwargs) -> GCLHead:
    torch.manual_seed(0)
    cfg = dict(embed_dim=D, num_classes=C, num_layers=2, num_heads=2)
    cfg.update(kwargs)
    return GCLHead(**cfg)


# ----------------------------------------------------------------------
# EdgeLayout: half and full bookkeeping
@pytest.mark.parametrize('symmetric', [False, True])
def test_edge_layout_matches_dense_formulas(symmetric):
    torch.manual_seed(0)
    b = 7
    z = torch.randn(b, D, dtype=torch.float64)
    layout = EdgeLayout(b, z.device, symmetric)
    assert layout.num_edges == (b * (b + 1) // 2 if symmetric else b * b)
    dense = correlation_edges(z)
    unit = z - z.mean(-1, keepdim=True)
    unit = unit / unit.norm(dim=-1, keepdim=True)
    e, e_half = layout.init_edges(unit)
    torch.testing.assert_close(layout.full(e), dense)
    assert (e_half is None) == symmetric
    half = e if symmetric else e_half
    torch.testing.assert_close(layout.mirror(half).view(b, b, D), dense)
    torch.testing.assert_close(
        layout.half_sum(torch.tanh(half * 3)),
        torch.tanh(dense * 3).sum(dim=1))
    # symmetric per-edge values: f_ij = g(e_ij)
    f = torch.tanh(e * 3)
    torch.testing.assert_close(
        layout.node_sum(f),
        torch.tanh(dense * 3).sum(dim=1))
    # per computed edge (i, j) = (rows[k], cols[k]), in that orientation
    if symmetric:
        rows, cols = torch.triu_indices(b, b)
    else:
        rows = torch.arange(b).repeat_interleave(b)
        cols = torch.arange(b).repeat(b)
    q = torch.randn(layout.num_edges, D, dtype=z.dtype)
    k, v = torch.randn(2, b, D, dtype=z.dtype)
    torch.testing.assert_close(
        layout.endpoint_scores(q, k),
        torch.stack([(q * k[rows]).sum(-1), (q * k[cols]).sum(-1)], -1))
    w = torch.rand(layout.num_edges, 2, dtype=z.dtype)
    torch.testing.assert_close(
        layout.endpoint_mix(w, v), w[:, :1] * v[rows] + w[:, 1:] * v[cols])


def test_pair_attention_full_layout_equals_gathers():
    """Broadcasting (full layout) = the reference's per-edge gathers,
    dropout included (same draws, same mask order)."""
    torch.manual_seed(0)
    b = 6
    att = PairAttention(D, dropout=0.3).train()
    e = torch.randn(b * b, D)
    p = torch.randn(b, D)
    rows = torch.arange(b).repeat_interleave(b)
    cols = torch.arange(b).repeat(b)
    torch.manual_seed(5)
    got = att(e, p, EdgeLayout(b, e.device, False))
    torch.manual_seed(5)
    q, k, v = att.q_linear(e), att.k_linear(p), att.v_linear(p)
    scores = torch.stack([(q * k[rows]).sum(-1), (q * k[cols]).sum(-1)], -1)
    w = att.dropout((scores / math.sqrt(D)).softmax(-1))
    torch.testing.assert_close(got, w[:, :1] * v[rows] + w[:, 1:] * v[cols])


# ----------------------------------------------------------------------
# GCLHead: symmetric half = all B² edges when there is no dropout
@pytest.mark.parametrize('momentum', [0.1, None])
def test_symmetric_half_equals_full_values_grads_and_bn_stats(momentum):
    z, labels = batch(dtype=torch.float64)
    full = head(dropout=0.0).double().train()
    for mod in full.modules():
        if isinstance(mod, torch.nn.BatchNorm1d):
            mod.momentum = momentum
    half = copy.deepcopy(full)
    half.symmetric_edges = True
    outs = {}
    for name, model in (('full', full), ('half', half)):
        x = z.clone().requires_grad_(True)
        for _ in range(2):  # two updates of the running statistics
            logits, lambdas = model(x, labels)
        (logits.square().mean() +
         (lambdas * lambdas.detach()).sum()).backward()
        grads = {
            n: p.grad
            for n, p in model.named_parameters() if p.grad is not None
        }
        outs[name] = (logits, lambdas, x.grad, grads, model.state_dict())
    (lf, lamf, gzf, gpf, sdf), (lh, lamh, gzh, gph, sdh) = outs['full'], \
        outs['half']
    torch.testing.assert_close(lh, lf)
    torch.testing.assert_close(lamh, lamf)
    torch.testing.assert_close(lamh, lamh.transpose(0, 1))
    torch.testing.assert_close(gzh, gzf)
    assert gph.keys() == gpf.keys()
    for name in gpf:
        torch.testing.assert_close(gph[name], gpf[name], msg=name)
    for name in sdf:  # BN running mean / var / num_batches_tracked
        torch.testing.assert_close(sdh[name], sdf[name], msg=name)
    # eval mode (running statistics) as well
    torch.testing.assert_close(half.eval()(z, labels), full.eval()(z, labels))


def test_full_layout_half_maps_of_initial_edges(monkeypatch):
    """Full layout, dropout on: mapping ``e⁰`` once per unordered pair (its
    edge-to-node and ``q`` projections) = mapping all ``B²`` edges."""
    z, labels = batch(dtype=torch.float64)
    model = head().double().train()
    plain = copy.deepcopy(model)
    results = []
    for net in (model, plain):
        if net is plain:
            init_edges = EdgeLayout.init_edges
            monkeypatch.setattr(EdgeLayout, 'init_edges', lambda self, u:
                                (init_edges(self, u)[0], None))
        torch.manual_seed(5)
        x = z.clone().requires_grad_(True)
        logits, lambdas = net(x, labels)
        loss = logits.square().mean() + (lambdas * lambdas.detach()).sum()
        loss.backward()
        results.append(
            (logits, lambdas, x.grad,
             [p.grad for p in net.parameters() if p.grad is not None]))
    (la, lama, gza, gpa), (lb, lamb, gzb, gpb) = results
    torch.testing.assert_close(la, lb)
    torch.testing.assert_close(lama, lamb)
    assert not torch.allclose(lama, lama.transpose(0, 1))  # dropout acted
    torch.testing.assert_close(gza, gzb)
    assert len(gpa) == len(gpb)
    for a, b in zip(gpa, gpb):
        torch.testing.assert_close(a, b)


def test_symmetric_half_with_dropout_shares_the_pair_mask():
    z, labels = batch()
    half = head(symmetric_edges=True).train()
    torch.manual_seed(3)
    lam = half(z, labels)[1]
    torch.testing.assert_close(lam, lam.transpose(0, 1))
    full = head().train()
    torch.manual_seed(3)
    lam = full(z, labels)[1]
    assert not torch.allclose(lam, lam.transpose(0, 1))


@pytest.mark.parametrize('symmetric', [False, True])
def test_lambda_grad_false_changes_nothing_but_autograd(symmetric):
    z, labels = batch()
    a = head(symmetric_edges=symmetric).train()
    b = copy.deepcopy(a)
    results = []
    for model, lambda_grad in ((a, True), (b, False)):
        torch.manual_seed(7)  # same dropout draws
        x = z.clone().requires_grad_(True)
        logits, lambdas = model(x, labels, lambda_grad=lambda_grad)
        F.cross_entropy(logits, labels).backward()
        results.append((logits, lambdas, x.grad, {
            n: p.grad
            for n, p in model.named_parameters() if p.grad is not None
        }, model.state_dict()))
    (la, lama, gza, gpa, sda), (lb, lamb, gzb, gpb, sdb) = results
    assert lama.requires_grad and not lamb.requires_grad
    assert torch.equal(la, lb) and torch.equal(lama, lamb)
    assert torch.equal(gza, gzb)
    assert gpa.keys() == gpb.keys()
    for name in gpa:
        assert torch.equal(gpa[name], gpb[name]), name
    for name in sda:
        assert torch.equal(sda[name], sdb[name]), name


# ----------------------------------------------------------------------
# CACAI: fused closed form = interpolations + fusion recursion
N, M = 4, 3


def cacai_reference(gen, z, lambdas, eta, u):
    """Every ``ẑ^(g)`` (:meth:`interpolate`), then docs/algorithm.md §4's
    recursion."""
    zhat = gen.interpolate(z, lambdas, eta, N, M)  # [a, n, g, m, D]
    u = torch.broadcast_to(u, (M, N, N, M - 1))
    out = []
    for a in range(M):
        s = zhat[a, :, 0]
        for g in range(1, M):
            s = zhat[a, :, g] + u[a, :, :, g - 1, None] * (s - zhat[a, :, g])
        out.append(s)
    return torch.stack(out)


@pytest.mark.parametrize('interpolation', ['channel', 'single'])
@pytest.mark.parametrize('per_anchor', [False, True])
def test_fused_cacai_equals_interpolate_then_fuse(interpolation, per_anchor):
    gen = CACAIGenerator(interpolation)
    g = torch.Generator().manual_seed(0)
    z = torch.randn(N * M, D, generator=g, dtype=torch.float64)
    z[N] = z[0] + 1e-3  # a near-coincident positive: d⁺ tiny
    lambdas = torch.rand(N * M, N * M, D, generator=g, dtype=z.dtype)
    u = torch.rand(
        (M, N, N, M - 1) if per_anchor else (M, 1, 1, M - 1),
        generator=g,
        dtype=z.dtype)
    grads = []
    for fn in (lambda x, lam: gen(x, lam, 0.7, N, M, fusion_weights=u),
               lambda x, lam: cacai_reference(gen, x, lam, 0.7, u)):
        x = z.clone().requires_grad_(True)
        lam = lambdas.clone().requires_grad_(True)
        out = fn(x, lam)
        (out * torch.linspace(-1, 1, D, dtype=z.dtype)).sum().backward()
        grads.append((out, x.grad, lam.grad))
    (s, gz, gl), (s_ref, gz_ref, gl_ref) = grads
    torch.testing.assert_close(s, s_ref)
    torch.testing.assert_close(gz, gz_ref)
    if interpolation == 'channel':
        torch.testing.assert_close(gl, gl_ref)


def test_geometry_reuse_and_distances():
    gen = CACAIGenerator()
    z = torch.randn(N * M, D, dtype=torch.float64, requires_grad=True)
    lambdas = torch.rand(N * M, N * M, D, dtype=z.dtype)
    geom = gen.geometry(z, N, M)
    x = z.view(M, N, 1, 1, D)
    c = z.view(1, 1, M, N, D)
    torch.testing.assert_close(geom.dist, (x - c + gen.eps).norm(dim=-1))
    pos = z.view(M, N, D).roll(-1, dims=0).view(M, N, 1, 1, D)
    torch.testing.assert_close(geom.d_pos, (x - pos + gen.eps).norm(dim=-1))
    u = torch.rand(M, M - 1, dtype=z.dtype)
    plain = gen(z, lambdas, 0.5, N, M, fusion_weights=u)
    shared = gen(z, lambdas, 0.5, N, M, fusion_weights=u, geometry=geom)
    assert torch.equal(plain, shared)
    detached = gen(
        z.detach(),
        lambdas,
        0.5,
        N,
        M,
        fusion_weights=u,
        geometry=geom.detach())
    assert torch.equal(detached, plain) and not detached.requires_grad


# ----------------------------------------------------------------------
# CPU bf16 autocast (the AMP path of the head, CACAI and the losses)
def test_head_and_cacai_under_cpu_bf16_autocast():
    z, labels = batch(n=4, m=3)
    model = head().train()
    gen = CACAIGenerator()
    u = torch.rand(M, M - 1)
    torch.manual_seed(1)
    ref_logits, ref_lam = model(z, labels)
    ref_s = gen(z, ref_lam, 0.6, N, M, fusion_weights=u)
    for symmetric in (False, True):
        model.symmetric_edges = symmetric
        x = z.clone().requires_grad_(True)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            torch.manual_seed(1)
            logits, lam = model(x, labels)
            s = gen(x, lam, 0.6, N, M, fusion_weights=u)
            loss = F.cross_entropy(logits.float(), labels) + s.float().mean()
        loss.backward()
        assert torch.isfinite(x.grad).all()
        assert all(
            torch.isfinite(p.grad).all() for p in model.parameters()
            if p.grad is not None)
        model.zero_grad()
        if not symmetric:  # same dropout draws: close to float32
            torch.testing.assert_close(
                logits.float(), ref_logits, atol=0.1, rtol=0.05)
            torch.testing.assert_close(
                lam.float(), ref_lam, atol=0.05, rtol=0.05)
            torch.testing.assert_close(s.float(), ref_s, atol=0.1, rtol=0.05)


# ----------------------------------------------------------------------
# One optimised train_step = a literal transcription of docs/algorithm.md §6
def build_model():
    """The step test's tiny GCA-HNG with two graph layers."""
    return step_test.build_model(
        graph_head=dict(
            type='GCLHead',
            embed_dim=step_test.D,
            num_classes=step_test.C,
            num_layers=2,
            num_heads=2))


def optim_cfg():
    """SGD: updates proportional to the gradients, so float rounding stays
    rounding (Adam's first steps are ``lr·sign(g)`` and would turn the sign
    of a ~0 gradient into an ``lr``-sized difference)."""
    sgd = dict(type='SGD', lr=0.1)
    return dict(
        metric=dict(
            modules=('backbone', 'neck', 'loss_metric'),
            optimizer=sgd,
            clip_grad=dict(type='value', clip_value=10.0)),
        graph=dict(
            modules=('graph_head', ),
            optimizer=sgd,
            clip_grad=dict(type='value', clip_value=10.0)),
        cls=dict(modules=('classifier', ), optimizer=sgd))


def literal_train_step(model, data, optim_wrapper):
    """docs/algorithm.md §6 as written: λ with autograd in stage 2, CACAI from
    scratch in both stages, η and ω as Python floats."""
    from gcahng.models.retrievers.dml_retriever import labels_of
    data = model.data_preprocessor(data, True)
    inputs, data_samples = data['inputs'], data['data_samples']
    ow_metric, ow_graph = optim_wrapper['metric'], optim_wrapper['graph']
    ow_cls = optim_wrapper['cls']
    z = model.extract_feat(inputs)
    labels = labels_of(data_samples, z.device)
    n, m = group_layout(labels)
    node_logits, lambdas = model.graph_head(z, labels)
    synthetic = model.generator(z, lambdas.detach(), model.hardness, n, m)
    loss = (
        model.loss_metric(z, labels) +
        model.loss_gce_weight * F.cross_entropy(node_logits, labels) +
        (1.0 - model.balance) * model.loss_syn(z, synthetic))
    backward_shared(loss, [ow_metric, ow_graph])
    for ow in (ow_metric, ow_graph):
        ow.step()
        ow.zero_grad()
    z_real = z.detach()
    ow_cls.update_params(model.loss_h1_weight *
                         F.cross_entropy(model.classifier(z_real), labels))
    ow_graph.zero_grad()
    _, lambdas = model.graph_head(z_real, labels)
    synthetic = model.generator(z_real, lambdas, model.hardness, n, m)
    gen = model.loss_gen(z_real, labels, synthetic, lambdas)
    ow_graph.update_params(sum(gen.values()))
    ow_cls.zero_grad()


@pytest.mark.parametrize('symmetric', [False, True])
def test_train_step_equals_literal_spec_step(symmetric):
    """Same seeds (dropout, fusion draws), one iteration: every parameter
    update (four optimiser steps, SGD) agrees to float rounding."""
    torch.manual_seed(0)
    model = build_model()
    model.graph_head.symmetric_edges = symmetric
    model.avg_metric_loss.fill_(2.0)  # η = e^-2.5
    model.avg_gen_loss.fill_(8.0)  # 1 - ω = 1 - e^-2.5: L_syn counts
    literal = copy.deepcopy(model)
    before = copy.deepcopy(model.state_dict())
    labels = [0, 3, 4, 1] * 2
    g = torch.Generator().manual_seed(0)
    inputs = torch.randint(0, 255, (len(labels), 3, 32, 32), generator=g)
    data = dict(
        inputs=list(inputs.to(torch.uint8)),
        data_samples=[DataSample().set_gt_label(y) for y in labels])
    torch.manual_seed(11)  # dropout and fusion draws
    model.train_step(
        copy.deepcopy(data),
        MultiOptimWrapperConstructor(optim_cfg())(model))
    torch.manual_seed(11)
    literal_train_step(literal, copy.deepcopy(data),
                       MultiOptimWrapperConstructor(optim_cfg())(literal))
    got, expected = model.state_dict(), literal.state_dict()
    changed = 0
    for name in expected:
        if not expected[name].is_floating_point():
            assert torch.equal(got[name], expected[name]), name
            continue
        step_got = got[name] - before[name]
        step_exp = expected[name] - before[name]
        scale = float(step_exp.norm())
        # (biases whose gradient is analytically zero move by ~1e-9)
        if scale < 1e-6:
            assert float(step_got.norm()) < 1e-6, name
            continue
        changed += 1
        assert float((step_got - step_exp).norm()) < 1e-4 * scale, name
    assert changed > 50
