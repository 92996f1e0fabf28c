"""CACAIGenerator (docs/algorithm.md §4) against explicit per-anchor
computations."""
import itertools

import pytest
import torch

from gcahng.models.generators import CACAIGenerator
from gcahng.registry import MODELS

N, M, D = 4, 3, 6


def batch(seed: int = 0, spread: float = 1.0):
    gen = torch.Generator().manual_seed(seed)
    z = spread * torch.randn(N * M, D, generator=gen, dtype=torch.float64)
    lambdas = torch.rand(N * M, N * M, D, generator=gen, dtype=torch.float64)
    return z, lambdas


def loop_interpolations(z, lambdas, eta):
    """docs/algorithm.md §4 written per anchor, per candidate, without eps."""
    out = torch.empty(M, N, M, N, D, dtype=z.dtype)
    for a, n, g, m in itertools.product(
            range(M), range(N), range(M), range(N)):
        x = z[a * N + n]
        p = z[((a + 1) % M) * N + n]
        c = z[g * N + m]
        d_pos, d_neg = torch.dist(x, p), torch.dist(x, c)
        if d_neg > d_pos:
            lam = eta * lambdas[a * N + n, g * N + m]
            r = (d_pos + (d_neg - d_pos) * lam) / d_neg
            out[a, n, g, m] = x + r * (c - x)
        else:
            out[a, n, g, m] = c
    return out


def test_interpolations_match_loop_and_keep_hard_negatives():
    z, lambdas = batch()
    gen = CACAIGenerator(eps=0.0)
    zhat = gen.interpolate(z, lambdas, 0.7, N, M)
    torch.testing.assert_close(zhat, loop_interpolations(z, lambdas, 0.7))
    kept = 0
    for a, n, g, m in itertools.product(
            range(M), range(N), range(M), range(N)):
        x = z[a * N + n]
        d_pos = torch.dist(x, z[((a + 1) % M) * N + n])
        c = z[g * N + m]
        if torch.dist(x, c) <= d_pos:  # already hard (self included)
            assert torch.equal(zhat[a, n, g, m], c)
            kept += 1
    assert kept >= M * N  # at least the anchors themselves


@pytest.mark.parametrize('mode', ['single', 'constant'])
def test_scalar_lambda_lies_on_segment(mode):
    z, lambdas = batch(1)
    eta = 0.6
    if mode == 'single':
        gen, lam, lam_tilde = CACAIGenerator('single', eps=0.0), None, eta
    else:
        gen = CACAIGenerator('channel', eps=0.0)
        lam = torch.full_like(lambdas, 0.5)
        lam_tilde = eta * 0.5
    zhat = gen.interpolate(z, lam, eta, N, M)
    moved = 0
    for a, n, g, m in itertools.product(
            range(M), range(N), range(M), range(N)):
        x = z[a * N + n]
        c = z[g * N + m]
        d_pos = torch.dist(x, z[((a + 1) % M) * N + n])
        d_neg = torch.dist(x, c)
        if d_neg <= d_pos:
            continue
        moved += 1
        step = zhat[a, n, g, m] - x
        dist = step.norm()
        expected = d_pos + (d_neg - d_pos) * lam_tilde
        torch.testing.assert_close(dist, expected)
        assert d_pos <= dist <= d_neg
        # on the segment x -> c: parallel to c - x, same direction
        cos = torch.dot(step, c - x) / (dist * d_neg)
        torch.testing.assert_close(cos, torch.ones_like(cos))
    assert moved > 0


def test_single_equals_channel_with_unit_lambda():
    z, lambdas = batch(2)
    u = torch.rand(M, M - 1, dtype=z.dtype)
    single = CACAIGenerator('single')(z, None, 0.3, N, M, fusion_weights=u)
    channel = CACAIGenerator('channel')(
        z, torch.ones_like(lambdas), 0.3, N, M, fusion_weights=u)
    torch.testing.assert_close(single, channel)


def test_random_weighting_is_the_reference_recursion():
    z, lambdas = batch(3)
    gen = CACAIGenerator()
    u = torch.rand(M, N, N, M - 1, dtype=z.dtype)
    synthetic = gen(z, lambdas, 0.8, N, M, fusion_weights=u)
    zhat = gen.interpolate(z, lambdas, 0.8, N, M)
    expected = torch.empty(M, N, N, D, dtype=z.dtype)
    for a, n, m in itertools.product(range(M), range(N), range(N)):
        s = zhat[a, n, 0, m]
        for g in range(1, M):
            s = zhat[a, n, g, m] + u[a, n, m, g - 1] * (s - zhat[a, n, g, m])
        expected[a, n, m] = s
    assert synthetic.shape == (M, N, N, D)
    torch.testing.assert_close(synthetic, expected)
    w = gen.fusion_coefficients(u)
    assert (w >= 0).all()
    torch.testing.assert_close(w.sum(-1), torch.ones(M, N, N, dtype=z.dtype))


def test_random_weighting_draws_one_u_per_anchor_group():
    z, lambdas = batch(4)
    gen = CACAIGenerator()
    synthetic = gen(
        z, lambdas, 0.8, N, M, generator=torch.Generator().manual_seed(7))
    u = torch.rand((M, 1, 1, M - 1),
                   generator=torch.Generator().manual_seed(7)).double()
    torch.testing.assert_close(synthetic,
                               gen(z, lambdas, 0.8, N, M, fusion_weights=u))


def test_generator_makes_it_reproducible():
    z, lambdas = batch(5)
    for fusion in CACAIGenerator.FUSIONS:
        gen = CACAIGenerator(fusion=fusion)
        runs = [
            gen(z,
                lambdas,
                0.9,
                N,
                M,
                generator=torch.Generator().manual_seed(seed))
            for seed in (11, 11, 12, 13, 14)
        ]
        assert torch.equal(runs[0], runs[1])
        assert any(not torch.equal(runs[0], r) for r in runs[2:])


def test_random_pick_returns_one_interpolation_per_group():
    z, lambdas = batch(6)
    gen = MODELS.build(dict(type='CACAIGenerator', fusion='random_pick'))
    zhat = gen.interpolate(z, lambdas, 0.9, N, M)
    seen = set()
    for seed in range(8):
        synthetic = gen(
            z,
            lambdas,
            0.9,
            N,
            M,
            generator=torch.Generator().manual_seed(seed))
        for a in range(M):
            picks = [
                g for g in range(M)
                if torch.equal(synthetic[a], zhat[a, :, g].clone())
            ]
            assert picks, 'S_a is not one of the interpolations'
            seen.add(picks[0])
    assert len(seen) > 1


def test_gradients_reach_lambda_and_z():
    z, lambdas = batch(7, spread=3.0)
    z.requires_grad_(True)
    lambdas.requires_grad_(True)
    synthetic = CACAIGenerator()(
        z, lambdas, 0.9, N, M, generator=torch.Generator().manual_seed(0))
    synthetic.square().sum().backward()
    assert torch.isfinite(lambdas.grad).all()
    assert lambdas.grad.abs().sum() > 0
    assert torch.isfinite(z.grad).all() and z.grad.abs().sum() > 0


def test_coincident_points_give_finite_gradients():
    z, lambdas = batch(8)
    z = z.float()
    z[N] = z[0]  # anchor 0 and its positive coincide: d+ ~ 0
    z.requires_grad_(True)
    lambdas = lambdas.float().requires_grad_(True)
    out = CACAIGenerator()(
        z, lambdas, 1.0, N, M, generator=torch.Generator().manual_seed(0))
    out.sum().backward()
    assert torch.isfinite(out).all()
    assert torch.isfinite(z.grad).all() and torch.isfinite(lambdas.grad).all()


def test_bad_arguments():
    z, lambdas = batch()
    with pytest.raises(ValueError):
        CACAIGenerator(interpolation='linear')
    with pytest.raises(ValueError):
        CACAIGenerator(fusion='mean')
    with pytest.raises(ValueError):
        CACAIGenerator()(z, lambdas, 1.0, N + 1, M)
    with pytest.raises(ValueError):
        CACAIGenerator()(z, None, 1.0, N, M)


@pytest.mark.parametrize('fusion', ['random_weighting', 'random_pick'])
def test_candidate_gradients_only(fusion):
    """anchor_grad=False: the same S, differentiable w.r.t. the candidates
    it is made from and never w.r.t. its own anchor."""
    z, lambdas = batch()
    z.requires_grad_(True)
    gen = CACAIGenerator(fusion=fusion)
    kw = dict(generator=torch.Generator().manual_seed(3))
    full = gen(z, lambdas, 0.7, N, M, **kw)
    kw = dict(generator=torch.Generator().manual_seed(3))
    cand = gen(z, lambdas, 0.7, N, M, anchor_grad=False, **kw)
    torch.testing.assert_close(cand, full)
    for a, n, m in ((0, 1, 2), (2, 3, 0)):
        grad, = torch.autograd.grad(cand[a, n, m].sum(), z, retain_graph=True)
        moved = grad.norm(dim=1).nonzero().flatten().tolist()
        assert a * N + n not in moved
        assert moved and all(i % N == m for i in moved)
        # all of the anchor's negatives (S[a, n, n] is no negative: its
        # candidates are the anchor's own class, the anchor included)
        others = [k for k in range(N) if k != n]
        grad, = torch.autograd.grad(
            cand[a, n, others].sum(), z, retain_graph=True)
        assert grad[a * N + n].norm() == 0
        grad, = torch.autograd.grad(
            full[a, n, others].sum(), z, retain_graph=True)
        assert grad[a * N + n].norm() > 0
