"""docs/algorithm.md §6: what one GCA-HNG ``train_step`` updates, and its
schedules."""
import copy

import pytest
import torch
from helpers import LossRecorder, tiny_synthetic_cfg
from mmengine.hooks import Hook
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmpretrain.structures import DataSample

from gcahng.engine.optim_wrappers import MultiOptimWrapperConstructor
from gcahng.models.retrievers.gcahng import GCAHNG, INITIAL_EPOCH_LOSS
from gcahng.models.utils import (NodeAccuracyGate, SynGateSettingError,
                                 group_layout)
from gcahng.registry import MODELS
from gcahng.utils.checkpoint_fit import checkpoint_mismatch

N, M, C, D = 4, 2, 6, 16
GCAHNG_CFG = 'gcahng/r18_pa_synthetic.py'


def build_model(model_type: str = 'GCAHNG', **kwargs):
    """A tiny ResNet-18 / PA model: ``GCAHNG`` with a 1-layer graph head,
    or ``model_type='DMLRetriever'`` (the baseline, no graph head)."""
    init_default_scope('gcahng')
    cfg = dict(
        type=model_type,
        backbone=dict(type='ResNet', depth=18, out_indices=(3, )),
        neck=dict(
            type='EmbeddingNeck',
            in_channels=512,
            out_channels=D,
            pooling='avgmax'),
        loss_metric=dict(type='ProxyAnchorLoss', num_classes=C, embed_dim=D))
    if model_type == 'GCAHNG':
        cfg.update(
            graph_head=dict(
                type='GCLHead',
                embed_dim=D,
                num_classes=C,
                num_layers=1,
                num_heads=2),
            frozen_bn2d=True)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def optim_cfg():
    adamw = dict(type='AdamW', lr=1e-2, weight_decay=1e-4)
    return dict(
        metric=dict(
            modules=('backbone', 'neck', 'loss_metric'),
            optimizer=adamw,
            clip_grad=dict(type='value', clip_value=10.0),
            paramwise_cfg=dict(
                custom_keys={'loss_metric.proxies': dict(lr_mult=100)})),
        graph=dict(
            modules=('graph_head', ),
            optimizer=adamw,
            clip_grad=dict(type='value', clip_value=10.0)),
        cls=dict(
            modules=('classifier', ), optimizer=dict(type='AdamW', lr=1e-3)))


def batch(labels=(0, 3, 4, 1)):
    labels = list(labels) * M
    g = torch.Generator().manual_seed(0)
    inputs = torch.randint(0, 255, (len(labels), 3, 32, 32), generator=g)
    samples = [DataSample().set_gt_label(y) for y in labels]
    return dict(inputs=list(inputs.to(torch.uint8)), data_samples=samples)


def snapshot(model):
    return {
        k: v.detach().clone()
        for k, v in model.named_parameters() if v.requires_grad
    }


def changed(before, after):
    return {k for k in before if not torch.equal(before[k], after[k])}


def test_train_step_updates_each_part_in_its_stage():
    torch.manual_seed(0)
    model = build_model()
    ow = MultiOptimWrapperConstructor(optim_cfg())(model)
    steps = []
    for name in ('metric', 'graph', 'cls'):
        wrapper = ow[name]
        original = wrapper.step

        def step(*a, _orig=original, _name=name, **k):
            _orig(*a, **k)
            steps.append((_name, snapshot(model)))

        wrapper.step = step
    start = snapshot(model)
    log_vars = model.train_step(batch(), ow)

    assert [s for s, _ in steps] == ['metric', 'graph', 'cls', 'graph']
    snaps = [start] + [s for _, s in steps]
    groups = dict(
        metric=('backbone.', 'neck.', 'loss_metric.'),
        graph=('graph_head.', ),
        cls=('classifier.', ))
    for (name, _), before, after in zip(steps, snaps[:-1], snaps[1:]):
        diff = changed(before, after)
        assert diff, f'{name} step changed nothing'
        assert all(k.startswith(groups[name]) for k in diff), (name, diff)
    # stage 2 sees λ only detached: the λ read-out learns in stage 4 only
    lam_readout = {k for k in start if k.startswith('graph_head.fc.')}
    assert lam_readout and not lam_readout & changed(snaps[1], snaps[2])
    assert lam_readout <= changed(snaps[3], snaps[4])
    # the node classifier learns from L_gce in stage 2 only
    node_cls = {k for k in start if k.startswith('graph_head.cls.')}
    assert node_cls <= changed(snaps[1], snaps[2])
    assert not node_cls & changed(snaps[3], snaps[4])
    # frozen BN2d affine parameters are not trainable at all
    assert not any('backbone.bn1' in k for k in start)
    # h₁'s gradients from L_cls were dropped, nothing left to leak
    assert all(p.grad is None or not p.grad.any()
               for p in model.classifier.parameters())
    for key in ('loss_metric', 'loss_gce', 'loss_syn', 'loss_h1', 'loss_cls',
                'loss_sim', 'loss_div', 'loss_gen'):
        assert torch.isfinite(log_vars[key]), key


def test_first_epoch_has_no_synthetic_loss_and_full_hardness():
    model = build_model()
    assert model.balance == pytest.approx(1.0, abs=1e-4)  # ω ≈ 1: L_syn off
    assert model.hardness == pytest.approx(1.0, abs=1e-4)  # η ≈ 1
    log_vars = model.train_step(
        batch(),
        MultiOptimWrapperConstructor(optim_cfg())(model))
    assert float(log_vars['loss_syn']) == pytest.approx(0.0, abs=1e-3)
    model.avg_metric_loss.fill_(2.0)
    model.avg_gen_loss.fill_(10.0)
    assert model.hardness == pytest.approx(torch.exp(torch.tensor(-2.5)))
    assert model.balance == pytest.approx(torch.exp(torch.tensor(-2.0)))
    # η and ω are logged every iteration, not only at epoch ends
    log_vars = model.train_step(
        batch(),
        MultiOptimWrapperConstructor(optim_cfg())(model))
    assert float(log_vars['hardness_eta']) == pytest.approx(model.hardness)
    assert float(log_vars['balance_omega']) == pytest.approx(model.balance)


def test_baseline_plus_gnn_has_no_generation():
    model = build_model(generate=False)
    assert not hasattr(model, 'classifier')
    cfg = optim_cfg()
    cfg['cls'] = None  # as configs/ablations/table3_baseline_gnn_* do
    ow = MultiOptimWrapperConstructor(cfg)(model)
    assert set(ow.keys()) == {'metric', 'graph'}
    log_vars = model.train_step(batch(), ow)
    assert set(log_vars) == {
        'loss_metric', 'loss_gce', 'gce_acc', 'z_norm', 'real_pos_cos',
        'real_neg_cos'
    }


def test_dropping_gen_terms():
    model = build_model(loss_sim=None, loss_div=None)
    log_vars = model.train_step(
        batch(),
        MultiOptimWrapperConstructor(optim_cfg())(model))
    assert 'loss_cls' in log_vars and 'loss_sim' not in log_vars
    assert 'loss_div' not in log_vars
    with pytest.raises(ValueError, match='at least one'):
        build_model(loss_cls=None, loss_sim=None, loss_div=None)


def test_constructor_checks_ownership_and_multiplies_proxy_lr():
    model = build_model()
    ow = MultiOptimWrapperConstructor(optim_cfg())(model)
    lrs = {
        id(p): g['lr']
        for g in ow['metric'].optimizer.param_groups
        for p in g['params']
    }
    assert lrs[id(model.loss_metric.proxies)] == pytest.approx(1.0)
    assert lrs[id(model.neck.fc.weight)] == pytest.approx(1e-2)
    cfg = optim_cfg()
    cfg['metric']['modules'] = ('backbone', 'neck')
    with pytest.raises(ValueError, match='loss_metric.proxies'):
        MultiOptimWrapperConstructor(cfg)(model)
    cfg = optim_cfg()
    cfg['cls']['modules'] = ('classifier', 'neck')
    with pytest.raises(ValueError, match='neck'):
        MultiOptimWrapperConstructor(cfg)(model)
    cfg = optim_cfg()
    cfg['cls']['modules'] = ('h1', )
    with pytest.raises(ValueError, match='does not have'):
        MultiOptimWrapperConstructor(cfg)(model)


def test_group_layout():
    assert group_layout(torch.tensor([5, 2, 7, 5, 2, 7])) == (3, 2)
    assert group_layout(torch.tensor([1, 2, 3])) == (3, 1)
    assert group_layout(torch.tensor([4, 4, 4])) == (1, 3)
    for bad in ([0, 1, 1, 0], [0, 1, 0, 2], [0, 1, 2, 0, 1]):
        with pytest.raises(ValueError, match='group order'):
            group_layout(torch.tensor(bad))


def test_schedule_hooks_average_and_survive_resume(tmp_path):
    """η and ω buffers: the epoch mean of the logged losses, saved in the
    checkpoint and restored by resume; the warm-up froze the backbone."""
    work = str(tmp_path)
    cfg = tiny_synthetic_cfg(GCAHNG_CFG, work, max_epochs=1)
    cfg.model.graph_head.update(num_layers=1, num_heads=2)
    runner = Runner.from_cfg(copy.deepcopy(cfg))
    rec = LossRecorder()
    runner.register_hook(rec)
    backbone_before = {}

    class Snapshot(Hook):

        def before_train_epoch(self, runner):  # after weight init
            backbone_before.update({
                k: v.clone()
                for k, v in runner.model.backbone.state_dict().items()
                if 'running' not in k and 'num_batches' not in k
            })

    runner.register_hook(Snapshot())
    runner.train()
    model = runner.model
    mean_m = sum(r['loss_metric'] for r in rec.records) / len(rec.records)
    mean_gen = sum(r['loss_gen'] for r in rec.records) / len(rec.records)
    assert float(model.avg_metric_loss) == pytest.approx(mean_m, rel=1e-5)
    assert float(model.avg_gen_loss) == pytest.approx(mean_gen, rel=1e-5)
    assert float(model.avg_metric_loss) != INITIAL_EPOCH_LOSS
    for k, v in model.backbone.state_dict().items():
        if k in backbone_before:  # warm-up epoch: backbone frozen
            assert torch.equal(v, backbone_before[k]), k

    cfg2 = copy.deepcopy(cfg)
    cfg2.train_cfg.max_epochs = 2
    cfg2.resume = True
    resumed = Runner.from_cfg(cfg2)
    resumed.load_or_resume()
    assert float(resumed.model.avg_metric_loss) == pytest.approx(mean_m)
    assert float(resumed.model.avg_gen_loss) == pytest.approx(mean_gen)
    assert resumed.model.hardness == pytest.approx(model.hardness)
    assert resumed.model.balance == pytest.approx(model.balance)


def _amp_wrapper(params, init_scale):
    """An ``AmpOptimWrapper`` with a CPU ``GradScaler`` (mmengine's own
    constructor insists on a GPU)."""
    from mmengine.optim import AmpOptimWrapper, OptimWrapper
    ow = AmpOptimWrapper.__new__(AmpOptimWrapper)
    OptimWrapper.__init__(ow, torch.optim.SGD(params, lr=0.1))
    ow.loss_scaler = torch.amp.GradScaler('cpu', init_scale=init_scale)
    ow._scale_update_param, ow.cast_dtype = None, None
    return ow


def test_backward_shared_gives_each_scaler_its_own_scale():
    from mmengine.optim import OptimWrapper

    from gcahng.models.retrievers.gcahng import backward_shared
    torch.manual_seed(0)
    a, b = torch.nn.Linear(3, 3), torch.nn.Linear(3, 1)
    x = torch.randn(5, 3)
    ref_a, ref_b = copy.deepcopy(a), copy.deepcopy(b)
    plain = [
        OptimWrapper(torch.optim.SGD(ref_a.parameters(), lr=0.1)),
        OptimWrapper(torch.optim.SGD(ref_b.parameters(), lr=0.1))
    ]
    backward_shared(ref_b(ref_a(x)).pow(2).mean(), plain)
    for ow in plain:
        ow.step()

    amp = [
        _amp_wrapper(a.parameters(), 2.**10),
        _amp_wrapper(b.parameters(), 2.**4)
    ]
    backward_shared(b(a(x)).pow(2).mean(), amp)
    # each wrapper's gradients carry its own scale
    assert torch.allclose(b.weight.grad, ref_b.weight.grad * 2.**4)
    assert torch.allclose(a.weight.grad, ref_a.weight.grad * 2.**10)
    for ow in amp:
        ow.step()
    for p, q in zip(
            list(a.parameters()) + list(b.parameters()),
            list(ref_a.parameters()) + list(ref_b.parameters())):
        assert torch.allclose(p, q, atol=1e-6)


def test_cosine_geometry_feeds_the_scaled_unit_embedding():
    """hng_geometry='cosine': graph head, CACAI, L_syn, h₁ and L_gen see
    s·z/‖z‖; L_m sees z itself."""
    torch.manual_seed(0)
    model = build_model(hng_geometry='cosine', hng_scale=5.0)
    seen = {}
    for name in ('graph_head', 'loss_metric', 'loss_syn', 'classifier'):
        module = getattr(model, name)
        module.register_forward_hook(
            lambda mod, args, out, _n=name: seen.setdefault(_n, []).append(
                args[0].detach().norm(dim=-1)))
    model.avg_gen_loss.fill_(8.0)  # L_syn counts
    model.train_step(batch(), MultiOptimWrapperConstructor(optim_cfg())(model))
    # (h₁'s later calls are L_cls on the synthetic negatives)
    scaled = seen['graph_head'] + seen['loss_syn'] + seen['classifier'][:1]
    for norms in scaled:
        torch.testing.assert_close(norms, torch.full_like(norms, 5.0))
    assert len(seen['graph_head']) == 2  # stages 2 and 4
    raw = seen['loss_metric'][0]
    assert not torch.allclose(raw, torch.full_like(raw, 5.0))
    with pytest.raises(ValueError, match='hng_geometry'):
        build_model(hng_geometry='spherical')


def test_gen_wrapper_takes_the_generation_update():
    """With a 'gen' wrapper (shares_params) the stage-4 step is its own,
    with its own optimiser state; the graph wrapper steps in stage 2 only."""
    torch.manual_seed(0)
    model = build_model()
    cfg = optim_cfg()
    cfg['gen'] = dict(cfg['graph'], shares_params=True)
    ow = MultiOptimWrapperConstructor(cfg)(model)
    steps = []
    for name in ('metric', 'graph', 'cls', 'gen'):
        original = ow[name].step

        def step(*a, _orig=original, _name=name, **k):
            _orig(*a, **k)
            steps.append(_name)

        ow[name].step = step
    model.train_step(batch(), ow)
    assert steps == ['metric', 'graph', 'cls', 'gen']
    graph_state = ow['graph'].optimizer.state
    gen_state = ow['gen'].optimizer.state
    fc = model.graph_head.fc[0].weight  # the λ read-out: stage 4 only
    assert fc in gen_state and fc not in graph_state
    with pytest.raises(ValueError, match='is in optim_wrapper'):
        bad = optim_cfg()
        bad['gen'] = dict(cfg['graph'])  # sharing without shares_params
        MultiOptimWrapperConstructor(bad)(model)


def test_gen_loss_weights_have_one_source():
    """GCAHNG's default L_gen terms name only their type: their weights are
    the loss classes' defaults, the reference values (w_sim = 20,
    0.01·w_div = 0.6, L_cls 20)."""
    import inspect

    from gcahng.models.losses import (DiversityLoss, SimilarityLoss,
                                      SynthClassificationLoss)
    from gcahng.models.retrievers import GCAHNG
    params = inspect.signature(GCAHNG.__init__).parameters
    classes = dict(
        loss_cls=SynthClassificationLoss,
        loss_sim=SimilarityLoss,
        loss_div=DiversityLoss)
    for name, cls in classes.items():
        default = params[name].default
        assert default == dict(type=cls.__name__), (name, default)
    weights = {
        name: inspect.signature(cls.__init__).parameters['loss_weight'].default
        for name, cls in classes.items()
    }
    assert weights == dict(loss_cls=20.0, loss_sim=20.0, loss_div=0.6)
    model = build_model()
    assert {
        name: getattr(model, name).loss_weight
        for name in classes
    } == weights


@pytest.mark.parametrize('fusion,calls', [('random_weighting', 1),
                                          ('random_pick', 0)])
def test_pair_geometry_only_for_the_fusion_that_uses_it(
        monkeypatch, fusion, calls):
    """CACAI's pair geometry is computed once per iteration for
    random_weighting (shared by stages 2 and 4) and not at all for
    random_pick, whose interpolation never reads it."""
    from gcahng.models.generators import CACAIGenerator
    seen = []
    original = CACAIGenerator.geometry

    def geometry(self, *args, **kwargs):
        seen.append(fusion)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(CACAIGenerator, 'geometry', geometry)
    torch.manual_seed(0)
    model = build_model(generator=dict(type='CACAIGenerator', fusion=fusion))
    log_vars = model.train_step(
        batch(),
        MultiOptimWrapperConstructor(optim_cfg())(model))
    assert len(seen) == calls
    assert torch.isfinite(log_vars['loss_gen'])


def test_hard_negatives_is_the_generation_of_train_step():
    """hard_negatives (what the analysis tools call) gives the negatives
    train_step's stage 4 generates: same λ, same S for the same draws."""
    torch.manual_seed(0)
    model = build_model().eval()
    z = torch.randn(N * M, D)
    labels = torch.tensor([0, 3, 4, 1] * M)
    gen = torch.Generator().manual_seed(3)
    out = model.hard_negatives(z, labels, generator=gen)
    assert out.synthetic.shape == (M, N, N, D)
    assert out.node_logits.shape == (N * M, C) and out.losses == {}
    _, lambdas = model.graph_head(z, labels)
    assert torch.equal(out.lambdas, lambdas)
    expected = model.generator(z, lambdas, model.hardness, N, M,
                               torch.Generator().manual_seed(3))
    torch.testing.assert_close(out.synthetic, expected)
    frozen = model.hard_negatives(z, labels, update_generator=False)
    assert not frozen.lambdas.requires_grad
    with pytest.raises(ValueError, match='group order'):
        model.hard_negatives(z, torch.tensor([0, 3, 4, 1, 3, 0, 4, 1]))


def test_syn_grad_decides_where_l_syn_moves_the_embeddings():
    """The same L_syn value whatever syn_grad; 'candidates' keeps the
    gradient off the anchors (so it differs from 'all'), 'none' keeps it off
    the embeddings altogether (the proxies still move)."""
    torch.manual_seed(0)
    z = torch.randn(N * M, D)
    labels = torch.tensor([0, 3, 4, 1] * M)
    grads, values = {}, {}
    for mode in GCAHNG.SYN_GRADS:
        torch.manual_seed(0)
        model = build_model(
            loss_syn=dict(type='ProxySyntheticLoss'), syn_grad=mode)
        model.train()
        zz = z.clone().requires_grad_(True)
        neg = model.hard_negatives(
            zz,
            labels, (N, M),
            generator=torch.Generator().manual_seed(1),
            update_generator=False)
        loss = model.synthetic_loss(zz, labels, neg.synthetic)
        g_z, g_p = torch.autograd.grad(
            loss, (zz, model.loss_metric.proxies), allow_unused=True)
        grads[mode] = torch.zeros_like(zz) if g_z is None else g_z
        values[mode] = loss.item()
        assert g_p.abs().sum() > 0
    assert values['all'] == pytest.approx(values['candidates'], rel=1e-6)
    assert values['all'] == pytest.approx(values['none'], rel=1e-6)
    assert grads['none'].abs().max() == 0
    assert grads['candidates'].abs().sum() > 0
    assert not torch.allclose(grads['candidates'], grads['all'])


def test_bad_l_syn_settings_are_refused():
    with pytest.raises(ValueError, match='syn_grad'):
        build_model(syn_grad='anchors')
    with pytest.raises(ValueError, match='needs a metric loss with proxies'):
        build_model(
            loss_metric=dict(type='NPairLoss'),
            loss_syn=dict(type='ProxySyntheticLoss'))


def test_node_accuracy_gate_follows_the_running_accuracy():
    """docs/algorithm.md §7: g = 0 at or below chance, linear up to
    full_at × chance, 1 above; the running mean starts at 0."""
    gate = NodeAccuracyGate(num_classes=10, full_at=5.0, momentum=0.5)
    assert float(gate()) == 0.0  # nothing measured yet
    for acc, expected in ((0.05, 0.0), (0.1, 0.0), (0.3, 0.5), (0.5, 1.0),
                          (0.9, 1.0)):
        gate.accuracy.fill_(acc)
        assert float(gate()) == pytest.approx(expected)
    gate.accuracy.fill_(0.2)
    gate.update(torch.tensor(0.6))
    assert float(gate.accuracy) == pytest.approx(0.4)
    for bad in (dict(full_at=1.0), dict(momentum=1.0), dict(momentum=-0.1)):
        with pytest.raises(SynGateSettingError):
            NodeAccuracyGate(10, **bad)
    with pytest.raises(SynGateSettingError, match='not full_after'):
        build_model(syn_gate=dict(full_after=3))


def test_syn_gate_holds_l_syn_back_until_the_head_classifies():
    """With the gate, L_syn is weighted (1 - ω)·g: 0 while the head's
    running accuracy is at chance, the ungated value once it is well above;
    the running accuracy is a buffer (in checkpoints) and moves each step.
    Without the gate the model is today's (no gate, no extra key)."""
    plain = build_model()
    assert plain.syn_gate is None and not any(
        k.startswith('syn_gate') for k in plain.state_dict())
    assert build_model(generate=False, syn_gate=dict()).syn_gate is None

    def step(model, acc):
        torch.manual_seed(0)
        model.avg_gen_loss.fill_(10.0)  # 1 - ω > 0: L_syn on
        if model.syn_gate is not None:
            model.syn_gate.accuracy.fill_(acc)
        return model.train_step(
            batch(),
            MultiOptimWrapperConstructor(optim_cfg())(model))

    torch.manual_seed(0)
    ungated = float(step(build_model(), 0.0)['loss_syn'])
    assert ungated > 0
    torch.manual_seed(0)
    model = build_model(syn_gate=dict(full_at=2.0, momentum=0.9))
    assert 'syn_gate.accuracy' in model.state_dict()
    log_vars = step(model, 1.0 / C)  # at chance
    assert float(log_vars['loss_syn']) == 0.0
    assert float(log_vars['syn_gate']) == 0.0
    expected = 0.9 / C + 0.1 * float(log_vars['gce_acc'])
    assert float(model.syn_gate.accuracy) == pytest.approx(expected)
    torch.manual_seed(0)
    model = build_model(syn_gate=dict(full_at=2.0, momentum=0.9))
    log_vars = step(model, 1.0)  # far above 2 / C: full weight
    assert float(log_vars['syn_gate']) == 1.0
    assert float(log_vars['loss_syn']) == pytest.approx(ungated, rel=1e-5)


def test_a_checkpoint_fits_with_or_without_the_gate():
    """The gate is training state: a checkpoint without it (older, or an
    inference one) fits a model with it, and a model without it drops a
    checkpoint's gate (as with the memory, docs/algorithm.md §10)."""
    torch.manual_seed(0)
    gated = build_model(syn_gate=dict())
    gated.syn_gate.accuracy.fill_(0.5)
    state = gated.state_dict()
    plain = build_model()
    assert checkpoint_mismatch(plain, state) == ([], [], [])
    plain.load_state_dict(state)  # strict: the gate is dropped
    old = {k: v for k, v in state.items() if not k.startswith('syn_gate.')}
    assert checkpoint_mismatch(gated, old) == ([], [], [])
    fresh = build_model(syn_gate=dict())
    fresh.load_state_dict(state)
    assert float(fresh.syn_gate.accuracy) == 0.5  # resume keeps it


def test_drop_inside_gets_the_anchors_in_the_hng_view():
    """GCAHNG passes ProxySyntheticLoss(drop_inside=True) the anchors (a
    step runs; without them the loss would refuse)."""
    torch.manual_seed(0)
    model = build_model(
        loss_syn=dict(type='ProxySyntheticLoss', drop_inside=True),
        syn_grad='candidates',
        hng_geometry='cosine')
    model.avg_gen_loss.fill_(10.0)
    log_vars = model.train_step(
        batch(),
        MultiOptimWrapperConstructor(optim_cfg())(model))
    assert torch.isfinite(log_vars['loss_syn'])
