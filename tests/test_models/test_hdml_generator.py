"""docs/algorithm.md §4 ablation "generator-based" (Table 8):
``HDMLGenerator``."""
import pytest
import torch
import torch.nn as nn
from test_gcahng_step import D, N, batch, build_model, optim_cfg, snapshot

from gcahng.engine.optim_wrappers import MultiOptimWrapperConstructor
from gcahng.models.generators import CACAIGenerator, HDMLGenerator

M = 3


def test_identity_network_gives_single_coefficient_cacai():
    torch.manual_seed(0)
    z = torch.randn(N * M, D)
    u = torch.rand(M, M - 1)
    gen = HDMLGenerator(embed_dim=D)
    gen.net = nn.Identity()
    synthetic, losses = gen(z, None, 0.7, N, M, fusion_weights=u)
    expected = CACAIGenerator(interpolation='single')(
        z, None, 0.7, N, M, fusion_weights=u)
    assert synthetic.shape == (M, N, N, D)
    torch.testing.assert_close(synthetic, expected)
    assert float(losses['loss_recon']) == 0.0


def test_network_output_and_reconstruction_loss_by_hand():
    torch.manual_seed(1)
    z = torch.randn(N * M, D)
    u = torch.rand(M, M - 1)
    gen = HDMLGenerator(embed_dim=D, hidden_dim=5, loss_recon_weight=3.0)
    synthetic, losses = gen(z, None, 0.4, N, M, fusion_weights=u)
    w1, b1 = gen.net[0].weight, gen.net[0].bias
    w2, b2 = gen.net[2].weight, gen.net[2].bias

    def net(x):
        return torch.relu(x @ w1.T + b1) @ w2.T + b2

    zhat = CACAIGenerator(interpolation='single')(
        z, None, 0.4, N, M, fusion_weights=u)
    torch.testing.assert_close(synthetic, net(zhat))
    recon = 3.0 * ((net(z) - z)**2).sum() / z.numel()
    torch.testing.assert_close(losses['loss_recon'], recon)


def test_generator_learns_in_stage_four_only():
    """Stage 2 uses G as a fixed function (L_syn trains the metric model);
    stage 4 trains it with L_gen + L_recon through the graph optimiser."""
    torch.manual_seed(0)
    model = build_model(generator=dict(type='HDMLGenerator', embed_dim=D))
    cfg = optim_cfg()
    cfg['graph']['modules'] = ('graph_head', 'generator')
    ow = MultiOptimWrapperConstructor(cfg)(model)
    # L_syn is on from the start
    model.avg_gen_loss.fill_(10.0)
    grads = {}
    for name in ('metric', 'graph'):
        original = ow[name].step

        def step(*a, _orig=original, _name=name, **k):
            grads.setdefault(_name, []).append([
                None if p.grad is None else p.grad.clone()
                for p in model.generator.parameters()
            ])
            _orig(*a, **k)

        ow[name].step = step
    start = snapshot(model)
    log_vars = model.train_step(batch(), ow)
    stage2, stage4 = grads['graph']
    assert all(g is None for g in stage2)
    assert all(g is not None and g.abs().sum() > 0 for g in stage4)
    end = snapshot(model)
    assert all(not torch.equal(start[k], end[k]) for k in start
               if k.startswith('generator.'))
    assert all(p.requires_grad for p in model.generator.parameters())
    assert float(log_vars['loss_syn']) > 0
    assert torch.isfinite(log_vars['loss_recon'])
    assert float(log_vars['loss_gen']) == pytest.approx(
        sum(
            float(log_vars[k])
            for k in ('loss_cls', 'loss_sim', 'loss_div', 'loss_recon')),
        rel=1e-5)


def test_generator_outside_every_optimiser_is_an_error():
    model = build_model(generator=dict(type='HDMLGenerator', embed_dim=D))
    with pytest.raises(ValueError, match='generator'):
        MultiOptimWrapperConstructor(optim_cfg())(model)
