"""GCLHead (docs/algorithm.md §3): edges, masked attention, symmetry,
switches."""
import numpy as np
import pytest
import torch

from gcahng.models.heads import GCLHead
from gcahng.models.utils import MaskedMultiHeadAttention, correlation_edges
from gcahng.registry import MODELS

D, C = 16, 7


def make_batch(n: int = 4, m: int = 3, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(n * m, D, generator=gen)
    labels = torch.tensor([3, 0, 5, 1, 6, 2][:n]).repeat(m)
    return z, labels


def make_head(**kwargs) -> GCLHead:
    torch.manual_seed(0)
    cfg = dict(type='GCLHead', embed_dim=D, num_classes=C, num_heads=4)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def test_edge_init_is_channelwise_pearson():
    z, _ = make_batch()
    e = correlation_edges(z)
    assert e.shape == (z.size(0), z.size(0), D)
    pearson = np.corrcoef(z.double().numpy())
    np.testing.assert_allclose(e.sum(-1).double().numpy(), pearson, atol=1e-6)
    assert torch.equal(e, e.transpose(0, 1))
    # a constant embedding gives zero edges, not NaN
    z[0] = 1.5
    assert torch.isfinite(correlation_edges(z)).all()


def test_masked_attention_ignores_positives():
    torch.manual_seed(1)
    att = MaskedMultiHeadAttention(D, 4)
    labels = torch.tensor([0, 1, 0, 2, 1, 2])
    mask = labels[:, None] == labels[None, :]
    h = torch.randn(6, D)
    weights = att.attention_weights(h, mask)
    assert (weights[:, mask] == 0).all()
    assert (weights[:, ~mask] > 0).all()
    # implicit zero logit: the weights of a target sum to less than one
    assert (weights.sum(-1) < 1).all()
    u = att(h, mask)
    h2 = h.clone()
    h2[2] += 5 * torch.randn(D)  # sample 2 is node 0's positive: new K, V
    u2 = att(h2, mask)
    torch.testing.assert_close(u2[0], u[0])
    assert not torch.allclose(u2[1], u[1])  # a negative of 2 sees it


def test_all_sources_masked_gives_zeros_not_nan():
    torch.manual_seed(2)
    att = MaskedMultiHeadAttention(D, 4)
    h = torch.randn(5, D, requires_grad=True)
    mask = torch.ones(5, 5, dtype=torch.bool)
    weights = att.attention_weights(h, mask)
    assert torch.equal(weights, torch.zeros_like(weights))
    torch.testing.assert_close(att(h, mask), att.out.bias.expand(5, D))
    # the whole head on a single-class batch, forward and backward
    head = make_head().train()
    z = torch.randn(6, D, requires_grad=True)
    logits, lambdas = head(z, torch.zeros(6, dtype=torch.long))
    (logits.sum() + lambdas.sum()).backward()
    assert torch.isfinite(logits).all() and torch.isfinite(lambdas).all()
    assert torch.isfinite(z.grad).all()


def test_shapes_range_and_symmetry_in_eval():
    z, labels = make_batch()
    head = make_head().eval()
    logits, lambdas = head(z, labels)
    b = z.size(0)
    assert logits.shape == (b, C)
    assert lambdas.shape == (b, b, D)
    assert ((lambdas > 0) & (lambdas < 1)).all()
    torch.testing.assert_close(lambdas, lambdas.transpose(0, 1))
    again = head(z, labels)[1]
    assert torch.equal(again, lambdas)  # eval: deterministic


def test_dropout_and_symmetric_edges_in_training():
    z, labels = make_batch()
    full = make_head(symmetric_edges=False).train()
    torch.manual_seed(3)
    lam = full(z, labels)[1]
    assert not torch.allclose(lam, lam.transpose(0, 1))
    half = make_head(symmetric_edges=True).train()
    half.load_state_dict(full.state_dict())
    torch.manual_seed(3)
    lam = half(z, labels)[1]
    torch.testing.assert_close(lam, lam.transpose(0, 1))
    # without dropout both modes agree in training mode too (BN batch stats)
    full, half = (
        make_head(dropout=0.0, symmetric_edges=s).train()
        for s in (False, True))
    half.load_state_dict(full.state_dict())
    for a, b in zip(full(z, labels), half(z, labels)):
        torch.testing.assert_close(a, b)


def test_mask_comes_from_labels_not_layout():
    z, labels = make_batch()
    head = make_head().eval()
    logits, lambdas = head(z, labels)
    perm = torch.randperm(
        z.size(0), generator=torch.Generator().manual_seed(4))
    logits_p, lambdas_p = head(z[perm], labels[perm])
    torch.testing.assert_close(logits_p, logits[perm])
    torch.testing.assert_close(lambdas_p, lambdas[perm][:, perm])


def test_update_node_is_unused_and_frozen():
    z, labels = make_batch()
    head = make_head().eval()
    before = head(z, labels)
    with torch.no_grad():
        for layer in head.gnn:
            upd = layer.node_model.layers[0].update_node
            assert not upd.weight.requires_grad
            upd.weight.normal_()
            upd.bias.normal_()
    for a, b in zip(before, head(z, labels)):
        assert torch.equal(a, b)


def test_backward_reaches_every_trainable_parameter():
    z, labels = make_batch()
    z.requires_grad_(True)
    head = make_head().train()
    logits, lambdas = head(z, labels)
    (logits.square().mean() + lambdas.mean()).backward()
    frozen = {n for n, p in head.named_parameters() if not p.requires_grad}
    assert frozen == {
        f'{prefix}.{w}'
        for prefix in ['bottleneck1.0', 'bottleneck2.0'] +
        [f'gnn.{t}.node_model.layers.0.update_node' for t in range(2)]
        for w in ('weight', 'bias')
    }
    for name, param in head.named_parameters():
        if param.requires_grad:
            assert param.grad is not None, name
            assert torch.isfinite(param.grad).all(), name
    assert z.grad is not None and torch.isfinite(z.grad).all()


@pytest.mark.parametrize('switch', ['node_step', 'edge_to_node'])
def test_ablation_switches(switch):
    z, labels = make_batch()
    full = make_head().eval()
    ablated = make_head(**{switch: False}).eval()
    missing = set(full.state_dict()) - set(ablated.state_dict())
    assert missing and not set(ablated.state_dict()) - set(full.state_dict())
    needle = 'node_model' if switch == 'node_step' else 'edge_to_node'
    assert all(needle in k for k in missing)
    assert not any(needle in k for k in ablated.state_dict())
    ablated.load_state_dict(full.state_dict(), strict=False)
    for a, b in zip(full(z, labels), ablated(z, labels)):
        assert a.shape == b.shape
        assert not torch.allclose(a, b)


def test_unshared_norms():
    z, labels = make_batch()
    shared = make_head().eval()
    separate = make_head(share_norm=False).eval()
    extra = set(separate.state_dict()) - set(shared.state_dict())
    names = {k.split('.')[-3] for k in extra}
    assert names == {'norm_e2n', 'norm_ffn'}
    assert any('edge_model.norm_ffn' in k for k in extra)
    result = separate.load_state_dict(shared.state_dict(), strict=False)
    assert set(result.missing_keys) == extra
    # identical LayerNorm parameters: same function as the shared module
    for a, b in zip(shared(z, labels), separate(z, labels)):
        torch.testing.assert_close(a, b)
    with torch.no_grad():
        separate.gnn[0].node_model.layers[0].norm_ffn[1].bias.fill_(0.3)
    assert not torch.allclose(shared(z, labels)[0], separate(z, labels)[0])


def test_bad_heads_rejected():
    with pytest.raises(ValueError):
        GCLHead(10, 3, num_heads=4)
