import warnings
from contextlib import nullcontext
from typing import Dict, NamedTuple, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.optim import AmpOptimWrapper, OptimWrapper, OptimWrapperDict

from gcahng.registry import MODELS
from ..generators.base import PairGeometryLike
from ..generators.cacai_generator import MemoryNegatives
from ..losses.synthetic_pair_loss import SyntheticPairLoss
from ..utils import (MemorySettingError, MemoryView, NodeAccuracyGate,
                     frozen_parameters, group_layout)
from .dml_retriever import DMLRetriever, labels_of

#: ``J̄`` before the first epoch has ended (docs/algorithm.md §4, §6):
#: η ≈ 1, ω ≈ 1.
INITIAL_EPOCH_LOSS = 1e6


def epoch_factor(coef: float,
                 mean_loss: torch.Tensor,
                 complement: bool = False) -> torch.Tensor:
    """``exp(-c / J̄)``, the form of both epoch schedules
    (docs/algorithm.md §4, §6): the hardness ``η`` (``c = α``,
    ``J̄ = J̄_m``) and the balance factor ``ω`` (``c = β``, ``J̄ = J̄_gen``).

    ``complement=True`` gives ``1 - exp(-c / J̄)`` (``L_syn``'s weight
    ``1 - ω``), computed as ``-expm1`` so that it keeps its precision where
    ``ω`` is close to 1. The result stays on ``mean_loss``'s device, in its
    dtype.
    """
    exponent = -coef / mean_loss
    return -torch.expm1(exponent) if complement else torch.exp(exponent)


class HardNegatives(NamedTuple):
    """What :meth:`GCAHNG.hard_negatives` produces for one batch.

    Attributes:
        synthetic (Tensor): ``S [M, N, N, D]``, ``S[a, n, m]`` the negative
            of class ``m`` for anchor ``(a, n)``.
        lambdas (Tensor): The graph head's ``λ [B, B, D]``.
        node_logits (Tensor): The graph head's ``o [B, C]``.
        losses (dict): The generator's own losses (``loss_recon`` of
            :class:`HDMLGenerator`; empty for CACAI).
        memory (MemoryNegatives, optional): The negatives made from memory
            candidates (docs/algorithm.md §10); None without a memory
            graph.
        nodes (Tensor, optional): The graph head's final node states
            ``[B, D]`` (when the memory stores them).
    """
    synthetic: torch.Tensor
    lambdas: torch.Tensor
    node_logits: torch.Tensor
    losses: Dict[str, torch.Tensor]
    memory: Optional[MemoryNegatives] = None
    nodes: Optional[torch.Tensor] = None


@MODELS.register_module()
class GCAHNG(DMLRetriever):
    """GCA-HNG: the metric model trained with globally correlation-aware
    hard negatives (docs/algorithm.md §3-§6).

    One ``train_step`` is the iteration of docs/algorithm.md §6, with three
    optimiser wrappers
    ``metric`` (backbone, neck, ``loss_metric``'s proxies), ``graph``
    (``graph_head``) and ``cls`` (``classifier``, i.e. h₁):

    1. ``z = f(x)``; ``(o, λ) = GCL(z, y)``; ``S = CACAI(z, sg(λ), η)``.
    2. The metric stage: ``L_stage2 = L_m + (1 - ω)·L_syn +
       L_gce``; backward, clip, step ``metric`` and ``graph``.
    3. ``10·CE(h₁(sg(z)), y)``; step ``cls``.
    4. The generation stage: ``(·, λ) = GCL(sg(z), y)`` with the
       just-updated head; ``S``; ``L_gen = 0.5·(L_cls + L_sim + L_div)``;
       backward, clip, step ``graph`` only. h₁'s gradients from ``L_cls``
       are dropped: the h₁ loss is the only one that updates it
       (docs/algorithm.md §5).

    Steps 1 and 4 are :meth:`hard_negatives`, the one call that produces a
    batch's negatives (the analysis tools use it too).

    ``η = exp(-α / J̄_m)`` and ``ω = exp(-β / J̄_gen)`` (:func:`epoch_factor`,
    read as :attr:`hardness` and :attr:`balance`) come from the buffers
    ``avg_metric_loss`` and ``avg_gen_loss`` (1e6 until the first epoch
    ends), which ``HardnessScheduleHook`` and ``BalanceFactorHook`` set at
    each epoch end. Being buffers, they are saved in checkpoints and
    restored on resume.

    Ablations (paper Tables 3, 4, 6): ``generate=False`` is "Baseline +
    GNN" (the head trained by ``L_gce`` only, no synthesis, no h₁);
    ``graph_head.node_step=False`` / ``edge_to_node=False`` and
    ``generator.interpolation='single'`` / ``fusion='random_pick'`` are
    switches of those components; ``loss_cls``, ``loss_sim`` or
    ``loss_div`` set to ``None`` drops that term from ``L_gen``. The plain
    "Baseline" is :class:`DMLRetriever`.

    Args:
        **kwargs: ``backbone``, ``neck``, ``loss_metric``,
            ``data_preprocessor``, ``frozen_bn2d``, ``global_batch``,
            ``memory``, ``init_cfg``: passed to :class:`DMLRetriever` (with
            ``global_batch`` and several processes, stages 2-4 run on the
            gathered global batch on every rank: one graph over all ranks'
            samples, ``docs/algorithm.md`` §9; ``memory`` below).
        graph_head (dict): ``GCLHead`` config (its ``num_classes`` is the
            number of training classes).
        generator (dict): ``CACAIGenerator`` (or ``HDMLGenerator``, any
            :class:`~gcahng.models.generators.BaseNegativeGenerator`) config.
        loss_syn (dict): ``SyntheticPairLoss`` config (``L_syn``).
        loss_cls (dict, optional): ``SynthClassificationLoss`` (``L_cls``).
        loss_sim (dict, optional): ``SimilarityLoss`` (``L_sim``, weight
            ``w_sim``).
        loss_div (dict, optional): ``DiversityLoss`` (``L_div``, weight
            ``0.01·w_div``). The default weights of the three ``L_gen``
            terms are those of the loss classes (20, 20 and 0.6, the
            reference values for NP+); a config sets ``loss_weight`` to
            change them.
        hardness_alpha (float): ``α`` of the hardness factor η.
        balance_beta (float): ``β`` of the balance factor ω.
        loss_gce_weight (float): Weight of ``L_gce`` (1 in the reference).
        loss_h1_weight (float): Weight of h₁'s cross-entropy (10).
        loss_gen_weight (float): Factor of ``L_gen`` (0.5).
        generate (bool): False gives the "Baseline + GNN" ablation.
        hng_geometry (str): The embedding that the graph head, CACAI, h₁,
            ``L_syn`` and ``L_gen`` see. ``'euclidean'`` (docs/algorithm.md,
            the authors' NP+ code): the un-normalised ``z``. ``'cosine'``:
            ``s·z/‖z‖`` with ``s = hng_scale``, for metric losses defined on
            cosine similarity (Proxy Anchor), whose embeddings have a free,
            uncontrolled norm; ``L_m`` always sees ``z``. See
            docs/algorithm.md §7 ("GCA-HNG with a proxy loss").
        hng_scale (float): ``s`` of ``hng_geometry='cosine'``.
        syn_grad (str): Where ``L_syn``'s gradients through
            ``S = x + r ⊙ (c - x)`` go. ``'all'`` (the authors' code): into
            its anchor ``x``, its candidates ``c`` and, through ``r``, the
            distances, so pushing a synthetic negative away also drags its
            own anchor. ``'candidates'``: into the candidates only, at the
            interpolation coefficients (the generator's
            ``anchor_grad=False``). ``'none'``: ``sg(S)``, a fixed target
            (docs/algorithm.md §7).
        gce_to_metric (bool): ``L_gce`` trains the metric model too (the
            graph head runs on ``z``; the authors' code). False: the head
            runs on ``sg(z)`` in the metric stage, so its node classifier
            never moves the embedding.
        memory (dict, optional): (in ``**kwargs``) A memory of past
            (global) batches, docs/algorithm.md §10: ``dict(size=K,
            start_iter=0, mining=False, graph=True, topk=None,
            store_nodes=False, syn=True)``.
            ``graph``: the memory entries are extra source nodes of the
            graph head and candidates of extra synthetic negatives for
            ``L_syn`` and ``L_gen`` (needs a generator with
            ``supports_memory``, i.e. CACAI); ``mining``: ``L_m`` also
            sees them (XBM). None or ``size=0``: today's model.
        gen_to_nodes (bool): ``L_gen`` (the generation stage) trains the
            whole graph head (the authors' code). False: its gradients stop
            at the edge steps (``GCLHead(node_grad=False)``), and the node
            steps learn from ``L_gce`` only.
        syn_gate (dict, optional): ``L_syn``'s weight follows the graph
            head's measured node accuracy: ``(1 - ω)·g`` with ``g`` of
            :class:`~gcahng.models.utils.NodeAccuracyGate`, 0 while the
            head is at chance, 1 once it classifies ``full_at`` times
            better (``dict(full_at=5.0, momentum=0.95)``; docs/algorithm.md
            §7). None (the authors' form): the epoch schedule alone.
            Ignored with ``generate=False`` (no ``L_syn``).
    """

    SYN_GRADS = ('all', 'candidates', 'none')
    supports_memory_graph = True

    def __init__(self,
                 graph_head: dict,
                 generator: dict = dict(type='CACAIGenerator'),
                 loss_syn: dict = dict(type='SyntheticPairLoss'),
                 loss_cls: Optional[dict] = dict(
                     type='SynthClassificationLoss'),
                 loss_sim: Optional[dict] = dict(type='SimilarityLoss'),
                 loss_div: Optional[dict] = dict(type='DiversityLoss'),
                 hardness_alpha: float = 5.0,
                 balance_beta: float = 20.0,
                 loss_gce_weight: float = 1.0,
                 loss_h1_weight: float = 10.0,
                 loss_gen_weight: float = 0.5,
                 generate: bool = True,
                 hng_geometry: str = 'euclidean',
                 hng_scale: float = 8.0,
                 syn_grad: str = 'all',
                 gce_to_metric: bool = True,
                 gen_to_nodes: bool = True,
                 syn_gate: Optional[dict] = None,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.graph_head = MODELS.build(graph_head)
        if hng_geometry not in ('euclidean', 'cosine'):
            raise ValueError('GCAHNG: hng_geometry must be "euclidean" or '
                             f'"cosine", got {hng_geometry!r}')
        self.hng_geometry = hng_geometry
        self.hng_scale = hng_scale
        if syn_grad not in self.SYN_GRADS:
            raise ValueError(f'GCAHNG: syn_grad must be one of '
                             f'{self.SYN_GRADS}, got {syn_grad!r}')
        self.syn_grad = syn_grad
        self.gce_to_metric = gce_to_metric
        self.gen_to_nodes = gen_to_nodes
        self.generate = generate
        self.hardness_alpha = hardness_alpha
        self.balance_beta = balance_beta
        self.loss_gce_weight = loss_gce_weight
        self.loss_h1_weight = loss_h1_weight
        self.loss_gen_weight = loss_gen_weight
        if generate:
            head = self.graph_head
            self.classifier = nn.Linear(head.embed_dim, head.num_classes)
            self.generator = MODELS.build(generator)
            self.loss_syn = MODELS.build(loss_syn)
            self.loss_cls = MODELS.build(loss_cls) if loss_cls else None
            self.loss_sim = MODELS.build(loss_sim) if loss_sim else None
            self.loss_div = MODELS.build(loss_div) if loss_div else None
            if getattr(self.loss_syn, 'needs_proxies', False) and \
                    not hasattr(self.loss_metric, 'proxies'):
                raise ValueError(
                    f'GCAHNG: {type(self.loss_syn).__name__} needs a metric '
                    'loss with proxies (ProxyAnchorLoss), got '
                    f'{type(self.loss_metric).__name__}')
            if not (self.loss_cls or self.loss_sim or self.loss_div):
                raise ValueError('GCAHNG: L_gen needs at least one of '
                                 'loss_cls, loss_sim, loss_div')
            settings = self.memory_settings
            if settings is not None and settings.graph and not getattr(
                    self.generator, 'supports_memory', False):
                raise MemorySettingError(
                    'model.memory.graph=True needs a generator that makes '
                    'negatives from memory candidates (CACAIGenerator); '
                    f'{type(self.generator).__name__} cannot. Set '
                    'model.memory=None, or graph=False, mining=True for '
                    'memory in L_m only')
            if settings is not None and settings.graph and settings.syn \
                    and isinstance(self.loss_syn, SyntheticPairLoss):
                warnings.warn(
                    'model.memory with the authors\' L_syn (SyntheticPairLoss'
                    ', as in the NP+ configs) collapsed the embedding on both '
                    'real benchmarks of this project, from scratch and '
                    'pretrained (the mean cosine of real negative pairs rose '
                    'to 0.93-1.00; R@1 fell 1.7 to 43.6 below the baseline), '
                    'and syn_grad=\'candidates\' did not prevent it. The '
                    'memory\'s negatives in L_syn cause it: '
                    'model.memory.syn=False keeps them out (no collapse, but '
                    'no gain over no memory): docs/algorithm.md §10',
                    UserWarning)
        self.syn_gate = None
        if syn_gate is not None and generate:
            self.syn_gate = NodeAccuracyGate.from_config(
                syn_gate, self.graph_head.num_classes)
        self.register_buffer('avg_metric_loss',
                             torch.tensor(INITIAL_EPOCH_LOSS))
        self.register_buffer('avg_gen_loss', torch.tensor(INITIAL_EPOCH_LOSS))

    # ------------------------------------------------------------------
    # schedules (docs/algorithm.md §4, §6)
    @property
    def hardness(self) -> float:
        """``η = exp(-α / J̄_m)``."""
        return float(
            epoch_factor(self.hardness_alpha, self.avg_metric_loss.double()))

    @property
    def balance(self) -> float:
        """``ω = exp(-β / J̄_gen)``; ``L_syn`` is weighted by ``1 - ω``."""
        return float(
            epoch_factor(self.balance_beta, self.avg_gen_loss.double()))

    def _hardness_tensor(self) -> torch.Tensor:
        """:attr:`hardness` as a tensor on the buffers' device: no
        device-to-host copy (a GPU synchronisation) inside ``train_step``."""
        return epoch_factor(self.hardness_alpha, self.avg_metric_loss)

    def _syn_weight_tensor(self) -> torch.Tensor:
        """``1 - ω`` as a tensor (see :meth:`_hardness_tensor`)."""
        return epoch_factor(
            self.balance_beta, self.avg_gen_loss, complement=True)

    def _syn_gate_tensor(self) -> Optional[torch.Tensor]:
        """The node-accuracy gate ``g`` of ``L_syn`` (None without
        ``syn_gate``)."""
        return None if self.syn_gate is None else self.syn_gate()

    def hng_view(self, z: torch.Tensor) -> torch.Tensor:
        """The embedding the hard-negative machinery works on (see
        ``hng_geometry``)."""
        if self.hng_geometry == 'cosine':
            return self.hng_scale * F.normalize(z, dim=1)
        return z

    # ------------------------------------------------------------------
    def hard_negatives(self,
                       z: torch.Tensor,
                       labels: torch.Tensor,
                       layout: Optional[Tuple[int, int]] = None,
                       geometry: Optional[PairGeometryLike] = None,
                       generator: Optional[torch.Generator] = None,
                       update_generator: bool = True,
                       memory: Optional[MemoryView] = None) -> HardNegatives:
        """A batch's synthetic negatives at the current hardness:
        ``(o, λ) = GCL(z, y)``, ``S = G(z, λ, η)`` (docs/algorithm.md §3,
        §4; steps 1 and 4 of §6).

        Args:
            z (Tensor): ``[B, D]`` in group order (docs/algorithm.md §1), in
                the view the graph head works on (:meth:`hng_view`; pass
                ``z.detach()`` for ``sg(z)``).
            labels (Tensor): ``[B]`` class ids on ``z``'s device.
            layout (tuple, optional): ``(N, M)`` of the batch; checked from
                ``labels`` (:func:`group_layout`) when None.
            geometry (optional): The generator's
                :meth:`~BaseNegativeGenerator.pair_geometry` of ``z``,
                reused between the two stages of an iteration; computed by
                the generator when None.
            generator (torch.Generator, optional): Source of the random
                fusion weights.
            update_generator (bool): False in step 2, the metric stage:
                only ``sg(λ)`` is used (the head's last edge step and
                ``λ`` read-out run without autograd), and a generator with
                parameters (:class:`HDMLGenerator`) runs as a fixed
                function, its parameters frozen and outside its DDP
                wrapper, so ``L_syn`` trains the metric model only.
            memory (MemoryView, optional): Past embeddings (raw ``z``, as
                the memory stores them) for the memory graph
                (docs/algorithm.md §10): extra source nodes of the graph
                head and extra negatives interpolated towards them.

        Returns:
            HardNegatives: ``S``, ``λ``, ``o`` and the generator's own
            losses.
        """
        n, m = group_layout(labels) if layout is None else layout
        if memory is not None:
            memory = memory.map_feats(self.hng_view)
        head_out = self.graph_head(
            z if update_generator or self.gce_to_metric else z.detach(),
            labels,
            lambda_grad=update_generator,
            node_grad=self.gen_to_nodes or not update_generator,
            **self._memory_head_kwargs(memory))
        node_logits, lambdas = head_out[:2]
        nodes = head_out[2] if len(head_out) > 2 else None
        if not update_generator:
            lambdas = lambdas.detach()
        all_lambdas = lambdas
        if memory is not None:  # the in-batch part, [B, B, D]
            lambdas = lambdas[:, :z.size(0)].contiguous()
        module = self.generator
        kwargs = {} if geometry is None else dict(geometry=geometry)
        frozen = nullcontext()
        if not update_generator:
            module = getattr(module, 'module', module)  # no DDP reducer
            frozen = frozen_parameters(module)
            if self.syn_grad == 'candidates':
                kwargs['anchor_grad'] = False
        with frozen:
            out = module(z, lambdas, self._hardness_tensor(), n, m, generator,
                         **kwargs)
            extra = None
            if memory is not None:
                extra = getattr(module, 'module', module).memory_negatives(
                    z, labels, memory.feats, memory.labels, all_lambdas,
                    self._hardness_tensor(), n, m, self.memory_settings.topk,
                    kwargs.get('anchor_grad', True))
        synthetic, losses = out if isinstance(out, tuple) else (out, {})
        return HardNegatives(synthetic, all_lambdas, node_logits, losses,
                             extra, nodes)

    def _memory_head_kwargs(self, memory: Optional[MemoryView]) -> dict:
        """The graph head's memory arguments: none without a memory (the
        call of today's model), else the view (in the head's geometry,
        None when empty) and whether the node states are wanted."""
        if self.memory is None:
            return {}
        return dict(memory=memory, return_nodes=self.memory.store_nodes)

    def _pair_geometry(self, z: torch.Tensor, n: int,
                       m: int) -> Optional[PairGeometryLike]:
        """The generator's pair geometry of ``z``, computed once per
        iteration and shared by stages 2 and 4 (it depends on ``z`` only);
        None when the generator does not use one (e.g. CACAI's
        ``'random_pick'`` fusion)."""
        module = getattr(self.generator, 'module', self.generator)  # DDP
        return module.pair_geometry(z, n, m)

    def synthetic_loss(
            self,
            z: torch.Tensor,
            labels: torch.Tensor,
            synthetic: torch.Tensor,
            memory: Optional[MemoryNegatives] = None) -> torch.Tensor:
        """``L_syn`` of the metric stage (before its weight ``1 - ω``):
        :class:`SyntheticPairLoss` on the anchors and ``S``, or a loss with
        ``needs_proxies`` (:class:`ProxySyntheticLoss`) on ``S``, the
        labels, the metric loss's proxies and ``sg(z)`` (read by its
        ``drop_inside``); ``sg(S)`` with
        ``syn_grad='none'``. ``memory``: the memory's negatives, extra
        (masked) negatives of each anchor unless ``model.memory.syn`` is
        False (docs/algorithm.md §10)."""
        if self.syn_grad == 'none':
            synthetic = synthetic.detach()
        extra = {}
        if memory is not None and self.memory_settings.syn:
            extra = dict(
                extra=memory.synthetic.detach()
                if self.syn_grad == 'none' else memory.synthetic,
                extra_valid=memory.valid)
        if getattr(self.loss_syn, 'needs_proxies', False):
            # under DDP ``loss_metric`` is wrapped; its proxies (whose
            # gradient DDP reduces once, summed over both uses) are the
            # wrapped module's
            metric = getattr(self.loss_metric, 'module', self.loss_metric)
            return self.loss_syn(
                synthetic, labels, metric.proxies, anchors=z.detach(), **extra)
        return self.loss_syn(z, synthetic, **extra)

    def loss_gen(
            self,
            z: torch.Tensor,
            labels: torch.Tensor,
            synthetic: torch.Tensor,
            lambdas: torch.Tensor,
            memory: Optional[MemoryNegatives] = None
    ) -> Dict[str, torch.Tensor]:
        """The stage-4 terms ``L_cls``, ``L_sim``, ``L_div``
        (docs/algorithm.md §5), each already multiplied by ``0.5`` so that
        they sum to ``L_gen``. With a memory graph (docs/algorithm.md §10)
        ``L_cls`` and ``L_sim`` also cover the memory's negatives
        (``memory``) and ``L_div`` the batch-memory ``λ`` (``lambdas`` is
        then ``[B, B + K, D]``)."""
        n = synthetic.size(1)
        losses = {}
        extra = {} if memory is None else dict(
            extra=memory.synthetic, extra_valid=memory.valid)
        if self.loss_cls is not None:
            losses['loss_cls'] = self.loss_cls(
                self.classifier, synthetic, labels[:n],
                **({} if memory is None else dict(
                    extra_labels=memory.labels, **extra)))
        if self.loss_sim is not None:
            losses['loss_sim'] = self.loss_sim(z, synthetic, **extra)
        if self.loss_div is not None:
            losses['loss_div'] = self.loss_div(lambdas)
        return {k: self.loss_gen_weight * v for k, v in losses.items()}

    def train_step(self, data: Union[dict, tuple, list],
                   optim_wrapper: OptimWrapperDict) -> Dict[str, torch.Tensor]:
        """One iteration (docs/algorithm.md §6); returns the log
        variables. With a memory (docs/algorithm.md §10) the step's
        (global) batch is enqueued at its end."""
        self._memory_pending = None
        log_vars = self._train_step(data, optim_wrapper)
        if self._memory_pending is not None:
            self.enqueue_memory(*self._memory_pending)
            self._memory_pending = None
            log_vars['memory_entries'] = self.memory.count.detach().float()
        return log_vars

    def _train_step(
            self, data: Union[dict, tuple, list],
            optim_wrapper: OptimWrapperDict) -> Dict[str, torch.Tensor]:
        """The body of :meth:`train_step`."""
        data = self.data_preprocessor(data, True)
        inputs, data_samples = data['inputs'], data['data_samples']
        ow_metric, ow_graph = optim_wrapper['metric'], optim_wrapper['graph']
        log_vars: Dict[str, torch.Tensor] = {}

        # the layout check runs on the host copy of the labels (no GPU
        # synchronisation)
        labels = labels_of(data_samples)
        # global-batch mode: the labels of all ranks' shares, and below
        # their embeddings (docs/algorithm.md §9)
        batch, labels = self.gather_labels(
            labels.to(inputs.device) if self.gathers else labels)
        n, m = (
            group_layout(labels) if batch is None else
            (batch.num_classes, batch.num_per_class))

        # the memory as it was before this step (docs/algorithm.md §10)
        mem_graph = self.memory_view('graph')
        mining = self.mining_kwargs()

        # Step 2, the metric stage: metric model and graph head on the
        # real batch.
        with ow_metric.optim_context(self):
            z_metric = self.extract_feat(inputs)
            if batch is not None:
                z_metric = batch.gather(z_metric)  # [B, D], global order
            labels = labels.to(z_metric.device, non_blocking=True)
            z = self.hng_view(z_metric)
            # λ is only used detached here: its last edge step and read-out
            # run without autograd (same values)
            if self.generate:
                geometry = self._pair_geometry(z, n, m)
                negatives = self.hard_negatives(
                    z,
                    labels, (n, m),
                    geometry,
                    update_generator=False,
                    memory=mem_graph)
                node_logits = negatives.node_logits
                synthetic = negatives.synthetic
            else:
                head_out = self.graph_head(
                    z if self.gce_to_metric else z.detach(),
                    labels,
                    lambda_grad=False,
                    **self._memory_head_kwargs(
                        None if mem_graph is
                        None else mem_graph.map_feats(self.hng_view)))
                node_logits = head_out[0]
                nodes = head_out[2] if len(head_out) > 2 else None
            stage2 = dict(
                loss_metric=self.loss_metric(z_metric, labels, **mining),
                loss_gce=self.loss_gce_weight *
                F.cross_entropy(node_logits.float(), labels))
            if self.generate:
                syn_weight = self._syn_weight_tensor()
                gate = self._syn_gate_tensor()
                if gate is not None:
                    syn_weight = syn_weight * gate
                stage2['loss_syn'] = syn_weight * self.synthetic_loss(
                    z, labels, synthetic, negatives.memory)
        backward_shared(sum(stage2.values()), [ow_metric, ow_graph])
        for ow in (ow_metric, ow_graph):
            ow.step()
            ow.zero_grad()
        log_vars.update({k: v.detach() for k, v in stage2.items()})
        log_vars.update(
            health_stats(z_metric.detach(), labels, node_logits.detach(),
                         synthetic.detach() if self.generate else None))
        if self.syn_gate is not None:
            log_vars['syn_gate'] = gate.detach()
            self.syn_gate.update(log_vars['gce_acc'])
        if self.generate:
            log_vars['syn_harder_than_pos'] = harder_than_positive_share(
                z.detach(), synthetic.detach())
        if self.memory is not None:  # enqueued after the step
            self._memory_pending = (z_metric.detach(), labels)
            if self.memory.store_nodes and not self.generate:
                self._memory_pending += (nodes.detach(), )
        if not self.generate:
            return log_vars

        # Step 3: h₁ on the real, detached embeddings.
        ow_cls = optim_wrapper['cls']
        z_real = z.detach()
        with ow_cls.optim_context(self):
            loss_h1 = self.loss_h1_weight * F.cross_entropy(
                self.classifier(z_real).float(), labels)
        ow_cls.update_params(loss_h1)
        ow_graph.zero_grad()

        # Step 4, the generation stage: the updated graph head learns to
        # generate (with its own optimiser state when the config has a
        # 'gen' wrapper).
        ow_gen = optim_wrapper['gen'] if 'gen' in optim_wrapper else ow_graph
        with ow_gen.optim_context(self):
            negatives = self.hard_negatives(
                z_real,
                labels, (n, m),
                None if geometry is None else geometry.detach(),
                memory=mem_graph)
            lambdas = negatives.lambdas
            gen = self.loss_gen(z_real, labels, negatives.synthetic, lambdas,
                                negatives.memory)
            gen.update(negatives.losses)
            loss_gen = sum(gen.values())
        ow_gen.update_params(loss_gen)  # also zeroes the head's gradients
        ow_cls.zero_grad()
        if self.memory is not None and self.memory.store_nodes:
            # the node states of the generation stage's (updated) head
            self._memory_pending = (z_metric.detach(), labels,
                                    negatives.nodes.detach())

        log_vars.update({k: v.detach() for k, v in gen.items()})
        log_vars.update(
            loss_h1=loss_h1.detach(),
            loss_gen=loss_gen.detach(),
            lambda_mean=lambdas.detach().mean(),
            lambda_std=lambdas.detach().std(),
            hardness_eta=self._hardness_tensor().detach(),
            balance_omega=1.0 - self._syn_weight_tensor().detach())
        return log_vars


@torch.no_grad()
def health_stats(z_raw: torch.Tensor, labels: torch.Tensor,
                 node_logits: torch.Tensor,
                 synthetic: Optional[torch.Tensor]) -> Dict[str, torch.Tensor]:
    """What shows whether the method is working, logged every iteration
    (docs/algorithm.md §7):

    - ``gce_acc``: the graph head's node-classification accuracy on the
      batch (chance is ``1 / num_classes``: a head stuck there builds its
      ``λ`` from random correlations);
    - ``z_norm``: the mean norm of the raw embeddings ``z`` (before the
      cosine geometry's rescaling);
    - ``real_pos_cos`` / ``real_neg_cos``: the mean cosine between the
      real samples of one class / of different classes: how good the
      embedding is;
    - ``syn_hardness``: the mean cosine between each anchor and its
      synthetic negatives ``S_a[n, m]`` (``m != n``): how hard the
      generated negatives are against the real ones.
    """
    zn = F.normalize(z_raw.float(), dim=1)
    real_cos = zn @ zn.t()
    same = labels[:, None] == labels[None, :]
    same.fill_diagonal_(False)
    other = labels[:, None] != labels[None, :]
    out = dict(
        gce_acc=(node_logits.argmax(1) == labels).float().mean(),
        z_norm=z_raw.float().norm(dim=1).mean(),
        real_pos_cos=real_cos[same].mean(),
        real_neg_cos=real_cos[other].mean())
    if synthetic is not None:
        m, n = synthetic.shape[:2]
        anchors = zn.view(m, n, -1)
        off = ~torch.eye(n, dtype=torch.bool, device=zn.device)
        syn_cos = torch.einsum('and,anmd->anm', anchors,
                               F.normalize(synthetic.float(), dim=-1))
        out['syn_hardness'] = syn_cos[:, off].mean()
    return out


@torch.no_grad()
def harder_than_positive_share(z: torch.Tensor,
                               synthetic: torch.Tensor) -> torch.Tensor:
    """The share of synthetic negatives closer (in cosine) to their anchor
    than the anchor's positive is: negatives that lie inside the anchor's
    class for the embedding as it is (docs/algorithm.md §7)."""
    _, logits = SyntheticPairLoss(cosine_scale=1.0).logits(z, synthetic)
    n = logits.size(1)
    harder = SyntheticPairLoss.harder_than_positive(logits)
    return harder.float().sum() / (logits.size(0) * n * (n - 1))


def backward_shared(loss: torch.Tensor,
                    wrappers: Sequence[OptimWrapper]) -> None:
    """Back-propagate one loss whose gradients several wrappers will step.

    Without AMP this is ``loss.backward()``. Under ``AmpOptimWrapper``
    every wrapper owns a ``GradScaler``: the loss is scaled by the first
    one's, and the gradients of each other wrapper's parameters are
    rescaled to its own scale (both are powers of two, so exactly), so that
    each wrapper unscales, checks for inf/NaN and steps as if it had done
    the backward itself.
    """
    first = wrappers[0]
    first.backward(loss)
    if not isinstance(first, AmpOptimWrapper):
        return
    scale = first.loss_scaler.get_scale()
    for ow in wrappers[1:]:
        # ``GradScaler.step`` refuses a scaler that never scaled anything:
        # scaling a zero initialises it without touching any gradient.
        ow.loss_scaler.scale(loss.new_zeros(()))
        ratio = ow.loss_scaler.get_scale() / scale
        if ratio == 1.0:
            continue
        for group in ow.optimizer.param_groups:
            for p in group['params']:
                if p.grad is not None:
                    p.grad.mul_(ratio)
