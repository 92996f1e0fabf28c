"""The docs/algorithm.md §5 losses against independent hand computations."""
import itertools
import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from gcahng.models.losses import (DiversityLoss, NPairLoss, ProxyAnchorLoss,
                                  SimilarityLoss, SynthClassificationLoss,
                                  SyntheticPairLoss)
from gcahng.registry import MODELS

RHO = 3e-3


def group_batch(n: int, m: int, d: int = 5, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(n * m, d, generator=gen, dtype=torch.float64)
    labels = torch.randperm(20, generator=gen)[:n].repeat(m)
    return z, labels


def log_softmax_row(row, k):
    """``log softmax(row)[k]`` of a list of floats, by hand."""
    row = [float(v) for v in row]
    return row[k] - math.log(sum(math.exp(v) for v in row))


def test_npair_m2_is_classic_npair():
    n = 5
    z, labels = group_batch(n, 2)
    anchors, positives = z[:n], z[n:]
    total = 0.0
    for i in range(n):
        fi = anchors[i]
        s = sum(
            math.exp(float(fi @ positives[j] - fi @ positives[i]))
            for j in range(n) if j != i)
        total += math.log(1 + s)
    reg = sum(float(v @ v) for v in z) / n
    expected = total / n + 0.25 * RHO * reg
    loss = MODELS.build(dict(type='NPairLoss'))(z, labels)
    assert loss.item() == pytest.approx(expected, rel=1e-9)


def test_npair_plus_loops():
    n, m = 4, 3
    z, labels = group_batch(n, m, seed=1)
    groups = [z[g * n:(g + 1) * n] for g in range(m)]
    ce = 0.0
    for k in range(1, m):
        for i in range(n):
            row = [float(groups[0][i] @ groups[k][j]) for j in range(n)]
            ce -= log_softmax_row(row, i) / n  # distinct classes: T = I
    reg = sum(float(v @ v) for v in z) / n
    expected = ce / (m - 1) + 0.25 * RHO * reg
    assert NPairLoss()(z, labels).item() == pytest.approx(expected, rel=1e-9)
    assert NPairLoss(loss_weight=2.0)(
        z, labels, num_per_class=m).item() == pytest.approx(
            2 * expected, rel=1e-9)


def test_npair_rejects_other_layouts():
    z, labels = group_batch(4, 2)
    with pytest.raises(ValueError):
        NPairLoss()(z, labels.sort().values)
    with pytest.raises(ValueError):
        NPairLoss()(z, labels, num_per_class=3)


def naive_proxy_anchor(z, labels, proxies, margin, alpha):
    num_classes = proxies.size(0)
    pos_sum, neg_sum, valid = 0.0, 0.0, 0
    for p in range(num_classes):
        pos, neg = 0.0, 0.0
        for i in range(z.size(0)):
            cos = float(
                torch.dot(z[i], proxies[p]) /
                (z[i].norm() * proxies[p].norm()))
            if labels[i] == p:
                pos += math.exp(-alpha * (cos - margin))
            else:
                neg += math.exp(alpha * (cos + margin))
        if any(labels == p):
            valid += 1
            pos_sum += math.log(1 + pos)
        neg_sum += math.log(1 + neg)
    return pos_sum / valid + neg_sum / num_classes


def test_proxy_anchor_naive_formula():
    torch.manual_seed(0)
    loss = ProxyAnchorLoss(num_classes=6, embed_dim=5, alpha=8)
    z = torch.randn(7, 5)
    labels = torch.tensor([0, 0, 2, 3, 3, 3, 5])  # classes 1, 4 absent
    expected = naive_proxy_anchor(z.double(), labels,
                                  loss.proxies.detach().double(), 0.1, 8)
    assert loss(z, labels).item() == pytest.approx(expected, rel=1e-5)


def test_proxy_anchor_default_alpha_is_stable():
    torch.manual_seed(1)
    loss = ProxyAnchorLoss(num_classes=4, embed_dim=5, loss_weight=0.5)
    z = torch.randn(6, 5, requires_grad=True)
    labels = torch.tensor([0, 1, 1, 2, 2, 2])
    expected = naive_proxy_anchor(z.detach().double(), labels,
                                  loss.proxies.detach().double(), 0.1, 32)
    value = loss(z, labels)
    assert value.item() == pytest.approx(0.5 * expected, rel=1e-5)
    value.backward()
    assert torch.isfinite(z.grad).all()
    assert torch.isfinite(loss.proxies.grad).all()
    assert loss.proxies.grad[3].abs().sum() > 0  # negative-only proxy


def test_proxy_anchor_float16_inputs():
    torch.manual_seed(2)
    loss = ProxyAnchorLoss(num_classes=5, embed_dim=8)
    z = (30 * torch.randn(10, 8)).half().requires_grad_(True)
    labels = torch.randint(0, 5, (10, ))
    value = loss(z, labels)
    assert value.dtype == torch.float32 and torch.isfinite(value)
    value.backward()
    assert torch.isfinite(z.grad.float()).all()
    reference = loss(z.detach().float(), labels)
    assert value.item() == pytest.approx(reference.item(), rel=1e-6)


def synthetic_batch(n, m, d=5, seed=0):
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(n * m, d, generator=gen, dtype=torch.float64)
    s = torch.randn(m, n, n, d, generator=gen, dtype=torch.float64)
    return z, s


def test_synthetic_pair_loss_loops():
    n, m = 4, 3
    z, s = synthetic_batch(n, m)
    total = 0.0
    for a in range(m):
        anchors = z[a * n:(a + 1) * n]
        positives = z[((a + 1) % m) * n:((a + 1) % m + 1) * n]
        ce, t_sq = 0.0, 0.0
        for i in range(n):
            targets = [
                positives[i] if j == i else s[a, i, j] for j in range(n)
            ]
            row = [float(anchors[i] @ t) for t in targets]
            ce -= log_softmax_row(row, i) / n
            t_sq += sum(float(t @ t) for t in targets)
        a_sq = sum(float(v @ v) for v in anchors)
        total += ce + 0.25 * RHO * (a_sq / n + t_sq / n**2)
    expected = total / m
    assert SyntheticPairLoss()(z, s).item() == pytest.approx(
        expected, rel=1e-9)


def test_synth_classification_loss_loops():
    n, m, d, c = 3, 2, 5, 6
    _, s = synthetic_batch(n, m, d, seed=1)
    torch.manual_seed(0)
    h1 = nn.Linear(d, c).double()
    slots = torch.tensor([4, 0, 2])
    labels = slots.repeat(m)
    total = 0.0
    for a, i, j in itertools.product(range(m), range(n), range(n)):
        row = h1(s[a, i, j]).tolist()
        total -= log_softmax_row(row, int(slots[j]))
    expected = 20.0 * total / (m * n * n)
    loss = SynthClassificationLoss()
    assert loss(h1, s, labels).item() == pytest.approx(expected, rel=1e-9)
    assert loss(h1, s, slots).item() == pytest.approx(expected, rel=1e-9)
    assert loss(h1(s), labels).item() == pytest.approx(expected, rel=1e-9)


def test_similarity_loss_loops():
    n, m = 4, 3
    z, s = synthetic_batch(n, m, seed=2)
    total = 0.0
    for a, i, j in itertools.product(range(m), range(n), range(n)):
        if i == j:
            continue
        x, y = z[a * n + i], s[a, i, j]
        total += 1 - float(x @ y / (x.norm() * y.norm()))
    expected = 2.5 * total / (m * n * n)
    assert SimilarityLoss(loss_weight=2.5)(z, s).item() == pytest.approx(
        expected, rel=1e-9)


def test_similarity_loss_ignores_same_class_entries():
    z, s = synthetic_batch(3, 2, seed=3)
    s2 = s.clone()
    s2[:, range(3), range(3)] = torch.randn(2, 3, 5, dtype=s.dtype)
    assert SimilarityLoss()(z, s).item() == SimilarityLoss()(z, s2).item()
    s2[0, 0, 1] += 1
    assert SimilarityLoss()(z, s).item() != SimilarityLoss()(z, s2).item()


def test_diversity_loss_loops():
    b, d = 5, 4
    lam = torch.rand(
        b,
        b,
        d,
        dtype=torch.float64,
        generator=torch.Generator().manual_seed(0))
    acc = 0.0
    for i in range(b):
        mean_i = sum(lam[i, j] for j in range(b)) / b
        for j in range(b):
            acc += float((lam[i, j] - mean_i).pow(2).sum())
    expected = 0.6 * (1 - math.sqrt(acc / (b * b)))
    assert DiversityLoss(loss_weight=0.6)(lam).item() == pytest.approx(
        expected, rel=1e-6)


def test_diversity_loss_constant_lambda_has_finite_gradient():
    lam = torch.full((4, 4, 3), 0.5, requires_grad=True)
    value = DiversityLoss(loss_weight=1.0)(lam)
    value.backward()
    assert value.item() == pytest.approx(1.0, abs=1e-5)
    assert torch.isfinite(lam.grad).all()


def test_synthetic_pair_loss_cosine_form():
    """cosine_scale=s: CE over s·cos(anchor, [positive | negatives]), no
    penalty, so a rescaled batch gives the same loss."""
    from gcahng.models.losses import SyntheticPairLoss
    torch.manual_seed(0)
    m, n, d = 2, 3, 8
    z = torch.randn(m * n, d)
    syn = torch.randn(m, n, n, d)
    loss = SyntheticPairLoss(cosine_scale=16.0)
    value = loss(z, syn)
    torch.testing.assert_close(loss(3.0 * z, 0.5 * syn), value)
    groups = F.normalize(z.view(m, n, d), dim=-1)
    expected = []
    for a in range(m):
        pos = groups[(a + 1) % m]
        for i in range(n):
            targets = F.normalize(syn[a, i].clone(), dim=-1)
            targets[i] = pos[i]
            logits = 16.0 * targets @ groups[a, i]
            expected.append(F.cross_entropy(logits[None], torch.tensor([i])))
    torch.testing.assert_close(value, torch.stack(expected).mean())
    assert SyntheticPairLoss()(3.0 * z, syn) != SyntheticPairLoss()(z, syn)


def test_synthetic_pair_loss_drops_negatives_harder_than_the_positive():
    """drop_harder_than_positive: a synthetic negative at least as close as
    the anchor's positive (in the loss's logits) leaves the softmax and
    gets no gradient; the others are as without the option."""
    from gcahng.models.losses import SyntheticPairLoss
    torch.manual_seed(0)
    m, n, d = 2, 3, 8
    z = torch.randn(m * n, d)
    syn = torch.randn(m, n, n, d)
    syn[0, 0, 1] = 5 * z[0]  # far closer to anchor (0, 0) than its positive
    syn.requires_grad_(True)
    for cosine_scale in (None, 16.0):
        plain = SyntheticPairLoss(cosine_scale=cosine_scale)
        loss = SyntheticPairLoss(
            cosine_scale=cosine_scale, drop_harder_than_positive=True)
        _, logits = loss.logits(z, syn)
        harder = loss.harder_than_positive(logits)
        assert harder[0, 0, 1] and not harder.diagonal(dim1=1, dim2=2).any()
        grad, = torch.autograd.grad(loss(z, syn), syn)
        # only the dot-product form's L2 penalty (0.25 ρ ‖T‖² / N², mean
        # over the M groups) reaches a dropped entry
        penalty = 0 if cosine_scale else 0.5 * RHO * syn.detach() / n**2 / m
        torch.testing.assert_close(
            grad[harder], penalty[harder]
            if cosine_scale is None else torch.zeros_like(grad[harder]))
        assert grad[~harder].abs().sum() > 0
        # no negative harder than the positive: the same loss as without
        easy = syn.detach().clone()
        easy[harder] = -easy[harder]
        _, logits = loss.logits(z, easy)
        if not loss.harder_than_positive(logits).any():
            torch.testing.assert_close(loss(z, easy), plain(z, easy))
        assert torch.isfinite(loss(z, syn))


def naive_proxy_synthetic(syn, labels, proxies, margin, alpha, anchors=None):
    """With ``anchors`` ([M, N, D]): ``drop_inside``, a negative counts
    only when it is farther from the proxy than its anchor."""
    m, n = syn.shape[:2]
    total = 0.0

    def cosine(u, v):
        return float(torch.dot(u, v) / (u.norm() * v.norm()))

    for i in range(n):
        p = proxies[labels[i]]
        acc = 0.0
        for a in range(m):
            for j in range(n):
                if j == i:
                    continue
                cos = cosine(syn[a, i, j], p)
                if anchors is not None and cos >= cosine(anchors[a, i], p):
                    continue
                acc += math.exp(alpha * (cos + margin))
        total += math.log(1 + acc)
    return total / n


def test_proxy_synthetic_loss_naive_formula_and_gradients():
    from gcahng.models.losses import ProxySyntheticLoss
    torch.manual_seed(0)
    m, n, d, c = 3, 4, 6, 7
    syn = torch.randn(m, n, n, d, requires_grad=True)
    proxies = torch.randn(c, d, requires_grad=True)
    labels = torch.tensor([5, 1, 6, 2]).repeat(m)
    loss = ProxySyntheticLoss(alpha=8.0, margin=0.1)
    value = loss(syn, labels, proxies)
    expected = naive_proxy_synthetic(syn.detach().double(), labels,
                                     proxies.detach().double(), 0.1, 8.0)
    assert value.item() == pytest.approx(expected, rel=1e-5)
    g_syn, g_prox = torch.autograd.grad(value, (syn, proxies))
    # the same-class entries S_a[n, n] are no negatives
    assert g_syn.diagonal(dim1=1, dim2=2).abs().max() == 0
    # only the proxies of the batch's classes move
    assert set(g_prox.abs().sum(1).nonzero().flatten().tolist()) == \
        {1, 2, 5, 6}
    # proxy_grad=False holds the proxies constant
    value = ProxySyntheticLoss(
        alpha=8.0, proxy_grad=False)(syn, labels, proxies)
    assert value.item() == pytest.approx(expected, rel=1e-5)
    assert torch.autograd.grad(value, proxies, allow_unused=True)[0] is None


def test_proxy_synthetic_loss_reduction_over_all_classes():
    """reduction='all_classes' divides the sum over the batch's proxies by
    the number of all proxies, as Proxy Anchor's negative term does."""
    from gcahng.models.losses import ProxySyntheticLoss
    torch.manual_seed(0)
    m, n, d, c = 3, 4, 6, 7
    syn = torch.randn(m, n, n, d)
    proxies = torch.randn(c, d)
    labels = torch.tensor([5, 1, 6, 2]).repeat(m)
    expected = naive_proxy_synthetic(syn.double(), labels, proxies.double(),
                                     0.1, 8.0) * n / c
    value = ProxySyntheticLoss(
        alpha=8.0, reduction='all_classes')(syn, labels, proxies)
    assert value.item() == pytest.approx(expected, rel=1e-5)
    with pytest.raises(ValueError, match="'batch_classes' or 'all_classes'"):
        ProxySyntheticLoss(reduction='mean')


def test_proxy_synthetic_loss_drop_inside_leaves_out_class_side_negatives():
    """drop_inside: a negative closer to its anchor's proxy than the anchor
    is left out (no term, no gradient); the others are as before."""
    from gcahng.models.losses import ProxySyntheticLoss
    torch.manual_seed(0)
    m, n, d, c = 3, 4, 6, 7
    syn = torch.randn(m, n, n, d)
    proxies = torch.randn(c, d)
    labels = torch.tensor([5, 1, 6, 2]).repeat(m)
    anchors = torch.randn(m, n, d)
    syn[0, 1, 2] = 3 * proxies[1]  # on the class's side of its anchor
    syn.requires_grad_(True)
    loss = ProxySyntheticLoss(alpha=8.0, drop_inside=True)
    value = loss(syn, labels, proxies, anchors=anchors.view(m * n, d))
    expected = naive_proxy_synthetic(syn.detach().double(), labels,
                                     proxies.double(), 0.1, 8.0,
                                     anchors.double())
    assert value.item() == pytest.approx(expected, rel=1e-5)
    assert value.item() < ProxySyntheticLoss(alpha=8.0)(syn, labels,
                                                        proxies).item()
    grad = torch.autograd.grad(value, syn)[0]
    assert grad[0, 1, 2].abs().max() == 0
    # the memory's negatives follow the same rule
    extra = torch.randn(m, n, 2, d)
    extra[0, 1, 0] = 3 * proxies[1]
    with_extra = loss(
        syn, labels, proxies, extra=extra, anchors=anchors.view(m * n, d))
    kept = loss(
        syn,
        labels,
        proxies,
        extra=extra,
        extra_valid=torch.ones(m, n, 2, dtype=torch.bool).index_put_(
            (torch.tensor(0), torch.tensor(1), torch.tensor(0)),
            torch.tensor(False)),
        anchors=anchors.view(m * n, d))
    assert with_extra.item() == pytest.approx(kept.item(), rel=1e-6)
    assert with_extra.item() > value.item()
    with pytest.raises(ValueError, match='needs the anchors'):
        loss(syn, labels, proxies)
