"""docs/algorithm.md §10: the memory graph (a FIFO of past embeddings as
extra graph nodes, extra synthetic negatives, and the XBM baseline)."""
import math
import os.path as osp
import warnings

import pytest
import torch
import torch.nn.functional as F
from helpers import LossRecorder, resume_cfg, tiny_synthetic_cfg
from mmengine.hooks import Hook
from mmengine.runner import Runner
from test_gcahng_step import D, batch, build_model, optim_cfg

from gcahng.engine.optim_wrappers import MultiOptimWrapperConstructor
from gcahng.models.generators import CACAIGenerator
from gcahng.models.heads import GCLHead
from gcahng.models.losses import (NPairLoss, ProxyAnchorLoss,
                                  ProxySyntheticLoss, SimilarityLoss,
                                  SynthClassificationLoss, SyntheticPairLoss)
from gcahng.models.utils import (EdgeModel, EmbeddingMemory,
                                 MemorySettingError, MemoryView,
                                 check_memory_size, memory_settings)
from gcahng.utils import is_user_error

GCAHNG_CFG = 'gcahng/r18_pa_synthetic.py'


# ----------------------------------------------------------------------
# the FIFO
def test_fifo_keeps_the_last_k_in_age_order():
    mem = EmbeddingMemory(5, 2)
    assert len(mem) == 0 and mem.view().feats.shape == (0, 2)
    for i in range(3):
        mem.enqueue(torch.full((2, 2), float(i)), torch.tensor([i, 10 + i]))
    view = mem.view()
    # 6 entries into 5: the oldest one is gone, the rest oldest first
    assert view.labels.tolist() == [10, 1, 11, 2, 12]
    assert view.feats[:, 0].tolist() == [0, 1, 1, 2, 2]
    assert view.iters.tolist() == [0, 1, 1, 2, 2]
    assert int(mem.step) == 3 and len(mem) == 5
    # a batch larger than K keeps its last K rows
    mem.enqueue(torch.arange(14.).view(7, 2), torch.arange(7))
    assert mem.view().labels.tolist() == [2, 3, 4, 5, 6]
    # the view is a copy: changing the memory leaves it alone
    before = view.feats.clone()
    mem.enqueue(torch.ones(3, 2), torch.zeros(3, dtype=torch.long))
    assert torch.equal(view.feats, before)


def test_fifo_stores_node_states():
    mem = EmbeddingMemory(3, 2, store_nodes=True)
    mem.enqueue(
        torch.zeros(2, 2), torch.tensor([0, 1]), nodes=torch.ones(2, 2))
    assert torch.equal(mem.view().nodes, torch.ones(2, 2))
    with pytest.raises(ValueError, match='node states'):
        mem.enqueue(torch.zeros(1, 2), torch.tensor([0]))


@pytest.mark.parametrize('size', [-1, 2.5, '3', True, None])
def test_bad_memory_size_is_a_user_error(size):
    with pytest.raises(MemorySettingError, match='whole number') as info:
        check_memory_size(size)
    assert is_user_error(info.value)


def test_memory_settings():
    assert memory_settings(None) is None
    assert memory_settings(dict(size=0)) is None
    assert memory_settings(dict(size=4.0)).size == 4
    with pytest.raises(MemorySettingError, match='unknown'):
        memory_settings(dict(size=4, sise=3))
    with pytest.raises(MemorySettingError, match='would not be used'):
        memory_settings(dict(size=4, graph=False))
    with pytest.raises(MemorySettingError, match='topk'):
        memory_settings(dict(size=4, topk=0))
    with pytest.raises(MemorySettingError, match='start_iter'):
        memory_settings(dict(size=4, start_iter=-1))
    with pytest.raises(MemorySettingError, match='whole number'):
        build_model(memory=dict(size=-3))


# ----------------------------------------------------------------------
# checkpoints
def test_checkpoint_of_another_size_is_refused_with_the_fix():
    saved = build_model(memory=dict(size=12))
    saved.memory.enqueue(torch.ones(8, D), torch.arange(8))
    state = saved.state_dict()
    other = build_model(memory=dict(size=20))
    with pytest.raises(MemorySettingError) as info:
        other.load_state_dict(state)
    msg = str(info.value)
    assert "the checkpoint's memory holds 12 entries" in msg
    assert 'model.memory.size=20' in msg
    assert 'set model.memory.size=12' in msg
    assert 'model.memory=None' in msg
    # the same size loads, memory included
    same = build_model(memory=dict(size=12))
    same.load_state_dict(state)
    assert torch.equal(same.memory.view().feats, saved.memory.view().feats)
    # a model without memory drops it silently
    plain = build_model()
    result = plain.load_state_dict(state)
    assert not result.unexpected_keys and not result.missing_keys
    # a model with memory starts empty from a checkpoint without one
    fresh = build_model(memory=dict(size=12))
    result = fresh.load_state_dict(plain.state_dict())
    assert not result.missing_keys and len(fresh.memory) == 0


# ----------------------------------------------------------------------
# the model
def _steps(n_steps=3, **kwargs):
    torch.manual_seed(0)
    model = build_model(**kwargs)
    cfg = optim_cfg()
    if not kwargs.get('generate', True):
        del cfg['cls']
    ow = MultiOptimWrapperConstructor(cfg)(model)
    logs = [model.train_step(batch(), ow) for _ in range(n_steps)]
    return model, logs


def _assert_same_run(a, b, tol=1e-6):
    (ma, la), (mb, lb) = a, b
    for ra, rb in zip(la, lb):
        for k in ra:
            if k in rb:
                assert float(ra[k]) == pytest.approx(
                    float(rb[k]), abs=tol, rel=tol), k
    sb = dict(mb.named_parameters())
    for k, v in ma.named_parameters():
        assert torch.allclose(v, sb[k], atol=tol, rtol=0), k


def test_k0_is_todays_model():
    plain = _steps()
    _assert_same_run(plain, _steps(memory=dict(size=0)))
    assert plain[0].memory is None
    # a memory not yet in use (start_iter) changes nothing either
    late = _steps(memory=dict(size=16, start_iter=100, mining=True))
    _assert_same_run(plain, late)
    assert len(late[0].memory) == 16


def test_memory_changes_the_step_and_logs_its_entries():
    plain = _steps()
    model, logs = _steps(memory=dict(size=12, topk=3))
    assert [float(r['memory_entries']) for r in logs] == [8, 12, 12]
    assert float(logs[-1]['loss_gen']) != pytest.approx(
        float(plain[1][-1]['loss_gen']), rel=1e-6)
    # what is stored is the raw z of the last batches, detached
    assert not model.memory.feats.requires_grad


@pytest.mark.parametrize('kwargs', [
    dict(memory=dict(size=12, store_nodes=True)),
    dict(
        memory=dict(size=12, mining=True),
        syn_grad='candidates',
        hng_geometry='cosine',
        loss_syn=dict(type='ProxySyntheticLoss')),
    dict(memory=dict(size=12, store_nodes=True), generate=False),
    dict(memory=dict(size=12), loss_metric=dict(type='NPairLoss')),
])
def test_memory_variants_train(kwargs):
    model, logs = _steps(**kwargs)
    for r in logs:
        assert all(math.isfinite(float(v)) for v in r.values())
    if model.memory.store_nodes:
        assert model.memory.nodes.abs().sum() > 0


@pytest.mark.parametrize('syn', [True, False])
def test_memory_negatives_in_l_syn_or_in_l_gen_only(syn, monkeypatch):
    """``memory.syn=False``: the memory's negatives train the generation
    stage but are not negatives of the metric stage's ``L_syn``."""
    seen = dict(syn=[], gen=[])
    model = build_model(memory=dict(size=12, syn=syn))
    loss_syn, loss_gen = model.loss_syn.forward, model.loss_gen

    def spy_syn(*args, **kwargs):
        seen['syn'].append(kwargs.get('extra'))
        return loss_syn(*args, **kwargs)

    def spy_gen(*args):  # its memory negatives are the fifth argument
        seen['gen'].append(args[4] if len(args) > 4 else None)
        return loss_gen(*args)

    monkeypatch.setattr(model.loss_syn, 'forward', spy_syn)
    monkeypatch.setattr(model, 'loss_gen', spy_gen)
    ow = MultiOptimWrapperConstructor(optim_cfg())(model)
    for _ in range(3):
        model.train_step(batch(), ow)
    # the first step has an empty memory; the later ones use it
    assert seen['gen'][0] is None and None not in seen['gen'][1:]
    assert seen['syn'][0] is None
    assert (None not in seen['syn'][1:]) if syn else seen['syn'] == [None] * 3


def test_memory_graph_needs_a_generator_that_can_use_it():
    with pytest.raises(MemorySettingError, match='HDMLGenerator cannot'):
        build_model(
            memory=dict(size=8),
            generator=dict(type='HDMLGenerator', embed_dim=D))
    # mining only is fine with it
    build_model(
        memory=dict(size=8, graph=False, mining=True),
        generator=dict(type='HDMLGenerator', embed_dim=D))


def test_memory_with_the_authors_l_syn_warns_of_collapse():
    """The memory graph with SyntheticPairLoss (the NP+ form, whatever
    ``syn_grad``) collapsed both real benchmarks: building one warns; the PA
    form and the mining-only memory do not."""
    for syn_grad in ('all', 'candidates'):
        with pytest.warns(UserWarning, match='collapsed the embedding'):
            build_model(
                memory=dict(size=8),
                loss_metric=dict(type='NPairLoss'),
                syn_grad=syn_grad)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        build_model(
            memory=dict(size=8),
            syn_grad='candidates',
            hng_geometry='cosine',
            loss_syn=dict(type='ProxySyntheticLoss'))
        build_model(
            memory=dict(size=8, graph=False, mining=True),
            loss_metric=dict(type='NPairLoss'))
        build_model(
            memory=dict(size=8, syn=False), loss_metric=dict(type='NPairLoss'))


def _baseline(**kwargs):
    return build_model('DMLRetriever', **kwargs)


def test_xbm_baseline_mines_the_memory():
    with pytest.raises(MemorySettingError, match='needs a graph head'):
        _baseline(memory=dict(size=8))
    torch.manual_seed(0)
    model = _baseline(memory=dict(size=16, graph=False, mining=True))
    model.train()
    data = model.data_preprocessor(batch(), True)
    first = model.loss(data['inputs'], data['data_samples'])['loss_metric']
    assert len(model.memory) == 8
    z = model.extract_feat(data['inputs'])
    assert torch.allclose(model.memory.view().feats, z, atol=1e-5)
    labels = torch.tensor([0, 3, 4, 1] * 2)
    plain = model.loss_metric(z, labels)
    mined = model.loss(data['inputs'], data['data_samples'])['loss_metric']
    assert float(plain) == pytest.approx(float(first), rel=1e-5)
    assert float(mined) != pytest.approx(float(plain), rel=1e-4)
    assert len(model.memory) == 16


# ----------------------------------------------------------------------
# the graph head
def _head(**kwargs):
    torch.manual_seed(0)
    return GCLHead(
        embed_dim=8, num_classes=5, num_layers=2, num_heads=2, **kwargs)


def test_head_with_memory_shapes_and_edges(monkeypatch):
    b, k = 6, 5
    z = torch.randn(b, 8)
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    view = MemoryView(
        torch.randn(k, 8), torch.tensor([0, 3, 4, 1, 2]),
        torch.zeros(k, dtype=torch.long))
    sizes = []
    orig = EdgeModel.forward

    def spy(self, h, e, layout, e_half=None):
        sizes.append((h.size(0), e.size(0)))
        return orig(self, h, e, layout, e_half)

    monkeypatch.setattr(EdgeModel, 'forward', spy)
    head = _head()
    logits, lambdas = head(z, labels, memory=view)
    assert logits.shape == (b, 5) and lambdas.shape == (b, b + k, 8)
    # per layer: the B² batch edges and the B×K batch-memory edges, no
    # K² memory-memory ones
    assert sizes == [(b, b * b), (b + k, b * k)] * 2
    # an empty memory is the head without memory
    head.eval()
    empty = MemoryView(
        torch.zeros(0, 8), torch.zeros(0, dtype=torch.long),
        torch.zeros(0, dtype=torch.long))
    assert torch.equal(head(z, labels)[1], head(z, labels, memory=empty)[1])


def test_head_with_memory_same_in_both_layouts_and_masks_positives():
    b, k = 6, 4
    z = torch.randn(b, 8)
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    view = MemoryView(
        torch.randn(k, 8), torch.tensor([0, 3, 4, 1]),
        torch.zeros(k, dtype=torch.long))
    full, sym = _head(), _head(symmetric_edges=True)
    sym.load_state_dict(full.state_dict())
    full.eval(), sym.eval()
    out_f = full(z, labels, memory=view, return_nodes=True)
    out_s = sym(z, labels, memory=view, return_nodes=True)
    for a, c in zip(out_f, out_s):
        assert torch.allclose(a, c, atol=1e-5)
    # training: the memory edges' BN_e uses the batch edges' statistics
    full.train()
    full(z, labels, memory=view)
    running = full.bottleneck1[0].running_mean.clone()
    full2 = _head()
    full2.train()
    full2(z, labels, memory=view)
    full3 = _head()
    full3.train()
    full3(z, labels)
    assert torch.allclose(full2.bottleneck1[0].running_mean, running)
    # memory nodes attend: a node whose every memory source is a positive
    # of it sees nothing of the memory's node states through attention
    attn = full.gnn[0].node_model.layers[0].att
    h = torch.randn(b, 8)
    src = torch.cat([h, torch.randn(k, 8)])
    mask = torch.cat([
        labels[:, None] == labels[None, :],
        torch.ones(b, k, dtype=torch.bool)
    ], 1)
    assert torch.allclose(
        attn(h, mask, src),
        attn(h, labels[:, None] == labels[None, :]),
        atol=1e-6)


# ----------------------------------------------------------------------
# CACAI
def test_cacai_memory_negatives_follow_the_formula():
    n, m, k, d = 3, 2, 5, 4
    torch.manual_seed(1)
    z = torch.randn(n * m, d)
    labels = torch.tensor([0, 1, 2] * m)
    mem = torch.randn(k, d) * 2
    mem_labels = torch.tensor([0, 5, 1, 6, 2])
    lam = torch.rand(n * m, n * m + k, d)
    gen = CACAIGenerator()
    eta = 0.7
    out = gen.memory_negatives(z, labels, mem, mem_labels, lam, eta, n, m)
    assert out.synthetic.shape == (m, n, k, d)
    eps = 1e-6
    for a in range(m):
        for s in range(n):
            i = a * n + s
            x, p = z[i], z[((a + 1) % m) * n + s]
            d_pos = (x - p + eps).norm()
            for j in range(k):
                c = mem[j]
                d_neg = (x - c + eps).norm()
                if d_neg > d_pos:
                    r = (d_pos + (d_neg - d_pos) * eta * lam[i, n * m + j]) \
                        / d_neg
                    want = x + r * (c - x)
                else:
                    want = c
                assert torch.allclose(out.synthetic[a, s, j], want, atol=1e-5)
                assert bool(out.valid[a, s, j]) == (mem_labels[j] != labels[i])
                assert int(out.labels[a, s, j]) == int(mem_labels[j])
    # topk: the nearest valid candidates, with their own λ
    top = gen.memory_negatives(
        z, labels, mem, mem_labels, lam, eta, n, m, topk=2)
    for a in range(m):
        for s in range(n):
            i = a * n + s
            dist = (z[i] - mem + eps).norm(dim=-1)
            dist[mem_labels == labels[i]] = float('inf')
            want = dist.topk(2, largest=False).indices
            assert top.index[a, s].tolist() == want.tolist()
            assert torch.allclose(top.synthetic[a, s], out.synthetic[a, s,
                                                                     want])
    # anchor_grad=False: no gradient at all (the memory is detached)
    zz = z.clone().requires_grad_()
    held = gen.memory_negatives(
        zz, labels, mem, mem_labels, lam, eta, n, m, anchor_grad=False)
    assert torch.allclose(held.synthetic, out.synthetic)
    assert not held.synthetic.requires_grad


# ----------------------------------------------------------------------
# losses
def _syn(m=2, n=3, k=4, d=5):
    torch.manual_seed(2)
    return (torch.randn(m * n, d), torch.randn(m, n, n,
                                               d), torch.randn(m, n, k, d))


@pytest.mark.parametrize('loss', [
    SyntheticPairLoss(),
    SyntheticPairLoss(cosine_scale=32.0),
    SyntheticPairLoss(drop_harder_than_positive=True)
])
def test_synthetic_pair_loss_extra_negatives(loss):
    z, s, extra = _syn()
    base = loss(z, s)
    none = torch.zeros(extra.shape[:-1], dtype=torch.bool)
    assert torch.allclose(loss(z, s, extra, none), base)
    # one more negative in one anchor's softmax: that CE term grows
    one = none.clone()
    one[0, 0, 0] = True
    with_one = loss(z, s, extra, one)
    _, logits = loss.logits(z, s)
    more = loss.extra_logits(z, extra)[0, 0, 0]
    row = logits[0, 0]
    if loss.drop_harder_than_positive:
        row = row.masked_fill(
            loss.harder_than_positive(logits)[0, 0], float('-inf'))
        if more >= logits[0, 0, 0]:
            more = torch.tensor(float('-inf'))
    delta = (torch.logsumexp(torch.cat([row, more.view(1)]), 0) -
             torch.logsumexp(row, 0)) / 6
    assert float(with_one - base) == pytest.approx(float(delta), abs=1e-5)


def test_proxy_synthetic_loss_extra_negatives():
    _, s, extra = _syn()
    labels = torch.tensor([0, 1, 2] * 2)
    proxies = torch.randn(4, 5)
    loss = ProxySyntheticLoss()
    base = loss(s, labels, proxies)
    none = torch.zeros(extra.shape[:-1], dtype=torch.bool)
    assert torch.allclose(loss(s, labels, proxies, extra, none), base)
    # the extras of anchors of slot n are negatives of y_n's proxy
    full = loss(s, labels, proxies, extra)
    want = loss(torch.cat([s, extra], dim=2)[:, :, :3], labels, proxies)
    assert float(full) > float(base)
    del want  # the masked layout differs; the value is checked below
    pn = F.normalize(proxies[:3], dim=-1)
    total = 0.0
    for n in range(3):
        cos = [
            F.normalize(s[a, n, j], dim=0) @ pn[n] for a in range(2)
            for j in range(3) if j != n
        ] + [
            F.normalize(extra[a, n, j], dim=0) @ pn[n] for a in range(2)
            for j in range(4)
        ]
        logits = 32 * (torch.stack(cos) + 0.1)
        total += torch.logsumexp(torch.cat([torch.zeros(1), logits]), 0)
    assert float(full) == pytest.approx(float(total / 3), rel=1e-5)


def test_gen_losses_cover_the_extras():
    z, s, extra = _syn()
    valid = torch.rand(extra.shape[:-1]) > 0.3
    sim = SimilarityLoss(loss_weight=1.0)
    cos = F.cosine_similarity(z.view(2, 3, 1, -1), s, dim=-1)
    cos_x = F.cosine_similarity(z.view(2, 3, 1, -1), extra, dim=-1)
    off = ~torch.eye(3, dtype=torch.bool)
    want = (((1 - cos) * off).sum() +
            ((1 - cos_x) * valid).sum()) / (2 * 3 * 7)
    assert float(sim(z, s, extra, valid)) == pytest.approx(
        float(want), rel=1e-5)
    assert torch.allclose(sim(z, s), sim(z, s, extra[:, :, :0]))
    cls = SynthClassificationLoss(loss_weight=1.0)
    h1 = torch.nn.Linear(5, 7)
    labels = torch.tensor([0, 1, 2] * 2)
    xl = torch.randint(0, 7, extra.shape[:-1])
    ce = F.cross_entropy(
        h1(s).reshape(-1, 7),
        labels[:3].expand(2, 3, 3).reshape(-1),
        reduction='sum')
    ce_x = F.cross_entropy(h1(extra[valid]), xl[valid], reduction='sum')
    got = cls(h1, s, labels, extra=extra, extra_labels=xl, extra_valid=valid)
    assert float(got) == pytest.approx(
        float((ce + ce_x) / (18 + int(valid.sum()))), rel=1e-5)
    assert float(cls(h1, s, labels)) == pytest.approx(float(ce / 18), rel=1e-6)


def test_metric_losses_mine_the_memory():
    torch.manual_seed(3)
    z = torch.randn(6, 5)
    labels = torch.tensor([0, 1, 2] * 2)
    mem, mem_labels = torch.randn(4, 5), torch.tensor([0, 3, 1, 4])
    pa = ProxyAnchorLoss(num_classes=5, embed_dim=5)
    empty = (torch.zeros(0, 5), torch.zeros(0, dtype=torch.long))
    assert torch.equal(pa(z, labels), pa(z, labels, *empty))
    # the memory joins the batch as further (detached) samples
    assert torch.allclose(
        pa(z, labels, mem, mem_labels),
        pa(torch.cat([z, mem]), torch.cat([labels, mem_labels])))
    npl = NPairLoss()
    assert torch.equal(npl(z, labels), npl(z, labels, None, *empty))
    got = npl(z, labels, None, mem, mem_labels)
    a, g1 = z[:3], z[3:]
    logits = torch.cat([a @ g1.t(), a @ mem.t()], 1)
    cols = torch.cat([labels[:3], mem_labels])
    t = (labels[:3, None] == cols[None]).float()
    t = t / t.sum(1, keepdim=True)
    ce = -(t * logits.log_softmax(-1)).sum(-1).mean()
    want = ce + 0.25 * 3e-3 * z.pow(2).sum() / 3
    assert float(got) == pytest.approx(float(want), rel=1e-5)


# ----------------------------------------------------------------------
# resume
def _memory_cfg(work, max_epochs):
    cfg = tiny_synthetic_cfg(GCAHNG_CFG, work, max_epochs=max_epochs)
    cfg.model.graph_head.update(num_layers=1, num_heads=2)
    cfg.model.memory = dict(size=12, topk=4, mining=True, store_nodes=True)
    return cfg


def test_resumed_run_equals_a_straight_one_memory_included(tmp_path):
    straight_dir = str(tmp_path / 'straight')
    rec = LossRecorder()
    runner = Runner.from_cfg(_memory_cfg(straight_dir, 2))
    runner.register_hook(rec)
    runner.train()

    work = str(tmp_path / 'resumed')
    first = LossRecorder()
    runner1 = Runner.from_cfg(_memory_cfg(work, 1))
    runner1.register_hook(first)
    runner1.train()
    second = LossRecorder()
    runner2 = Runner.from_cfg(resume_cfg(_memory_cfg(work, 2)))
    runner2.register_hook(second)
    loaded = {}

    class Capture(Hook):

        def before_train_epoch(self, runner):  # after the resume
            loaded.update({
                k: v.clone()
                for k, v in runner.model.memory.state_dict().items()
            })

    runner2.register_hook(Capture())
    runner2.train()
    # the resumed run starts from exactly the straight run's memory
    at_1 = torch.load(
        osp.join(straight_dir, 'epoch_1.pth'), weights_only=True)['state_dict']
    assert loaded and int(loaded['step']) == 3
    for k, v in loaded.items():
        assert torch.equal(v, at_1['memory.' + k]), k

    # The tolerance: on CPU a resumed GCA-HNG run drifts from the straight
    # one by up to ~1e-4 (relative) in the second epoch without a memory
    # too (measured 2026-12-06: 6e-5 in loss_gen, 1.5e-4 in loss_h1); the
    # memory adds nothing to it. What the memory holds (labels, order,
    # iterations, its clock) must be identical.
    resumed = first.records + second.records
    assert len(resumed) == len(rec.records) == 6
    for a, b in zip(rec.records, resumed):
        for key in ('loss_metric', 'loss_gen', 'loss_syn', 'memory_entries'):
            assert a[key] == pytest.approx(b[key], rel=1e-3, abs=1e-6), key
    ckpts = [
        torch.load(osp.join(d, 'epoch_2.pth'), weights_only=True)
        for d in (straight_dir, work)
    ]
    keys = [k for k in ckpts[0]['state_dict'] if k.startswith('memory.')]
    assert {'memory.feats', 'memory.labels', 'memory.nodes',
            'memory.step'} <= set(keys)
    for k in keys:
        a, b = ckpts[0]['state_dict'][k], ckpts[1]['state_dict'][k]
        if a.is_floating_point():
            # embeddings of the drifting models (see above)
            assert torch.allclose(a, b, rtol=5e-2, atol=5e-2), k
        else:
            assert torch.equal(a, b), k
    assert int(ckpts[0]['state_dict']['memory.step']) == 6


def test_checkpoint_fit_check_knows_the_memory():
    """tools/test.py and load_from check the fit first: the memory is
    optional both ways, and another size gets the memory's own message."""
    from gcahng.utils.checkpoint_fit import check_state_fits
    with_memory = build_model(memory=dict(size=12))
    plain = build_model()
    check_state_fits(plain, dict(with_memory.state_dict()), 'ckpt')
    check_state_fits(with_memory, dict(plain.state_dict()), 'ckpt')
    other = build_model(memory=dict(size=20))
    with pytest.raises(MemorySettingError, match='set model.memory.size=12'):
        check_state_fits(other, dict(with_memory.state_dict()), 'ckpt')


def test_tools_train_reports_a_bad_memory_in_one_message(tmp_path):
    import subprocess
    import sys

    from helpers import REPO, assert_one_message
    cfg = tiny_synthetic_cfg(GCAHNG_CFG, str(tmp_path / 'work'))
    cfg.model.memory = dict(size=2.5)
    path = str(tmp_path / 'cfg.py')
    cfg.dump(path)
    proc = subprocess.run([sys.executable, 'tools/train.py', path],
                          cwd=REPO,
                          capture_output=True,
                          text=True,
                          timeout=600)
    assert_one_message(proc, 'train.py', 'model.memory.size', '2.5')


def test_memory_needs_the_global_batch_on_several_processes(monkeypatch):
    from gcahng.models.retrievers import dml_retriever
    monkeypatch.setattr(dml_retriever, 'distributed_world_size', lambda: 2)
    with pytest.raises(MemorySettingError, match='global_batch=True'):
        build_model(memory=dict(size=8), global_batch=False)
