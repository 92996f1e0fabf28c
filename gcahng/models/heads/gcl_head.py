"""GCL, the graph head of GCA-HNG (SPEC §3).

Module names mirror the authors' implementation so that a released
checkpoint's ``gnn.*`` entries load into :class:`GCLHead` once the ``gnn.``
prefix is stripped (see ``GCLHead`` for the few documented exceptions).
"""
import math
from contextlib import nullcontext
from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from gcahng.registry import MODELS


def correlation_edges(z: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Channel-wise correlation edges, SPEC §3 "Initial edges".

    ``z̃_i = z_i - mean_c(z_i)`` and
    ``e_ij = (z̃_i ⊙ z̃_j) / (‖z̃_i‖·‖z̃_j‖) ∈ R^D``, so that
    ``Σ_c e_ij[c]`` is the Pearson correlation of ``z_i`` and ``z_j``.

    Args:
        z (Tensor): Embeddings ``[B, D]``.
        eps (float): Lower bound of ``‖z̃_i‖`` (a constant embedding gives
            zero edges instead of NaN). The reference has no guard; with
            non-degenerate inputs the bound is never active.

    Returns:
        Tensor: ``e`` of shape ``[B, B, D]``, exactly symmetric in ``i, j``.
    """
    unit = _unit_centred(z, eps)
    return unit.unsqueeze(1) * unit.unsqueeze(0)


def _unit_centred(z: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """``z̃_i / ‖z̃_i‖`` (``[B, D]``): ``e_ij`` is the product of rows
    ``i`` and ``j``, so edges are built from this without any tensor larger
    than the edges themselves."""
    centred = z - z.mean(dim=-1, keepdim=True)
    return centred / centred.norm(dim=-1, keepdim=True).clamp_min(eps)


class EdgeLayout:
    """Which edges are computed, and how they map to the ``B²`` ordered
    pairs (SPEC §3 "Symmetry").

    - full (reference): all ``B²`` ordered pairs, edge ``k = i·B + j``
      (so ``e.view(B, B, D)[i, j] = e_ij``);
    - symmetric: the ``i ≤ j`` half, ``B(B+1)/2`` edges in
      ``torch.triu_indices`` order; ``(j, i)`` reads the edge of ``(i, j)``.

    Everything the graph head does per edge goes through this class. The
    full layout is handled with broadcasting views of ``[B, B, D]`` (no
    index gathers of ``B² x D``). In both layouts the ``i ≤ j`` half
    bookkeeping (``half_*``) is available, so that per-edge maps of an edge
    tensor known to be symmetric (the initial edges, before dropout has
    acted) can be computed once per unordered pair and mirrored
    (:meth:`mirror`, :meth:`half_sum`).

    Args:
        b (int): Number of nodes ``B``.
        device (torch.device): Device of the index tensors.
        symmetric (bool): Half (``i ≤ j``) instead of all edges.
    """

    def __init__(self, b: int, device: torch.device, symmetric: bool) -> None:
        self.b = b
        self.symmetric = symmetric
        rows, cols = torch.triu_indices(b, b, device=device)
        self.half_rows, self.half_cols = rows, cols
        self.num_half = rows.numel()
        full = torch.empty(b, b, dtype=torch.long, device=device)
        ar = torch.arange(self.num_half, device=device)
        full[rows, cols] = ar
        full[cols, rows] = ar
        self.mirror_index = full.view(-1)
        i = torch.arange(b, device=device)
        # row i of the upper triangle starts (with its diagonal) here
        self.half_diag = i * b - i * (i - 1) // 2
        # ordered pairs each half edge stands for: 1 (i = j) or 2
        self.multiplicity = torch.where(rows == cols, 1.0, 2.0).view(1, -1)
        self.num_edges = self.num_half if symmetric else b * b

    def init_edges(
            self,
            unit: torch.Tensor) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """``e⁰`` from the unit-centred embeddings ``[B, D]``.

        Returns:
            tuple: ``e⁰ [E, D]`` on this layout's edges and, in the full
            layout, its ``i ≤ j`` half ``[B(B+1)/2, D]`` (None in the
            symmetric layout, where ``e⁰`` is that half).
        """
        half = unit.index_select(0, self.half_rows) * unit.index_select(
            0, self.half_cols)
        if self.symmetric:
            return half, None
        full = unit.unsqueeze(1) * unit.unsqueeze(0)
        return full.view(self.num_edges, -1), half

    def mirror(self, x: torch.Tensor) -> torch.Tensor:
        """Half-edge values ``[B(B+1)/2, D]`` as all ordered pairs
        ``[B², D]`` (edge ``i·B + j``)."""
        return x.index_select(0, self.mirror_index)

    def half_sum(self, f: torch.Tensor) -> torch.Tensor:
        """``m_i = Σ_j f_ij`` over all ``j`` (self included) ``[B, D]``
        from the ``i ≤ j`` half ``f [B(B+1)/2, D]`` of symmetric values."""
        out = f.new_zeros(self.b, f.size(-1))
        out = out.index_add(0, self.half_rows,
                            f).index_add(0, self.half_cols, f)
        return out - f.index_select(0, self.half_diag)  # diagonal twice

    def node_sum(self, f: torch.Tensor) -> torch.Tensor:
        """``m_i = Σ_j f_ij`` over all ``j`` (self included) ``[B, D]``,
        for per-edge values ``f [E, D]`` (symmetric in the symmetric
        layout)."""
        if self.symmetric:
            return self.half_sum(f)
        return f.view(self.b, self.b, -1).sum(dim=1)

    def endpoint_scores(self, q: torch.Tensor,
                        k: torch.Tensor) -> torch.Tensor:
        """``[⟨q_ij, k_i⟩, ⟨q_ij, k_j⟩]`` of every edge, ``[E, 2]``."""
        if self.symmetric:
            k_i = k.index_select(0, self.half_rows)
            k_j = k.index_select(0, self.half_cols)
            return torch.stack([(q * k_i).sum(-1), (q * k_j).sum(-1)], dim=-1)
        b = self.b
        q = q.view(b, b, -1)
        first = torch.bmm(q, k.unsqueeze(-1))  # [i, j, 1]: q_ij . k_i
        second = (q * k.unsqueeze(0)).sum(-1, keepdim=True)  # q_ij . k_j
        return torch.cat([first, second], dim=-1).view(self.num_edges, 2)

    def endpoint_mix(self, w: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """``w_ij[0]·v_i + w_ij[1]·v_j`` for ``w [E, 2]``, ``v [B, D]``."""
        if self.symmetric:
            return (w[:, :1] * v.index_select(0, self.half_rows) +
                    w[:, 1:] * v.index_select(0, self.half_cols))
        b = self.b
        w = w.view(b, b, 2)
        out = w[..., :1] * v.unsqueeze(1) + w[..., 1:] * v.unsqueeze(0)
        return out.view(self.num_edges, -1)

    def full(self, e: torch.Tensor) -> torch.Tensor:
        """Per-edge values ``[E, D]`` as all ordered pairs ``[B, B, D]``."""
        if self.symmetric:
            e = self.mirror(e)
        return e.view(self.b, self.b, -1)

    def batch_norm(self, bn: nn.BatchNorm1d, e: torch.Tensor) -> torch.Tensor:
        """``bn`` applied to the edges as if to all ``B²`` ordered pairs.

        In full mode (or eval mode, where BatchNorm is per element) this is
        ``bn(e)``. In symmetric mode and training, the batch statistics are
        those of the ``B²`` mirrored edges, computed on the half with each
        edge weighted by the number of ordered pairs it stands for (1 on
        the diagonal, 2 elsewhere): the same mean, (biased) variance,
        running-statistics update (unbiased variance, ``momentum``,
        ``num_batches_tracked``) and output as ``bn(full(e))``.
        """
        use_batch_stats = bn.training or bn.running_mean is None
        if not self.symmetric or not use_batch_stats:
            return bn(e)
        n = self.b * self.b
        x = e if e.dtype in (torch.float32, torch.float64) else e.float()
        weight = self.multiplicity.to(x.dtype)
        # statistics in float32 even under autocast (like BatchNorm's)
        with torch.autocast(device_type=x.device.type, enabled=False):
            mean = (weight @ x).view(-1) / n
            centred = x - mean
            var = (weight @ centred.square()).view(-1) / n
        out = centred * torch.rsqrt(var + bn.eps)
        if bn.affine:
            out = out * bn.weight + bn.bias
        if bn.training and bn.track_running_stats:
            with torch.no_grad():
                bn.num_batches_tracked.add_(1)
                factor = (1.0 / float(bn.num_batches_tracked)
                          if bn.momentum is None else bn.momentum)
                bn.running_mean.lerp_(mean.to(bn.running_mean), factor)
                bn.running_var.lerp_((var * n / (n - 1)).to(bn.running_var),
                                     factor)
        return out.to(e.dtype)


def _gelu_layer_norm(dim: int) -> nn.Sequential:
    """``LN(GELU(·))`` as one module; its LayerNorm is item ``1``."""
    return nn.Sequential(nn.GELU(), nn.LayerNorm(dim))


class MaskedMultiHeadAttention(nn.Module):
    """Node-step attention, SPEC §3 node step items 1-4 (``u``).

    ``Q, K, V = Linear(h)``; for target ``j`` and source ``i`` per head
    ``s_ij = ⟨Q_j, K_i⟩ / sqrt(D/H)``, ``s_ij = -inf`` where
    ``y_i = y_j`` (self and positives);
    ``a_ij = exp(s_ij) / (1 + Σ_i' exp(s_i'j))`` (an implicit zero logit,
    computed as a softmax over ``[s_·j, 0]`` whose last column is dropped:
    a row whose sources are all masked gives zeros, never NaN);
    ``u_j = Linear_out(concat_heads Σ_i a_ij V_i)``. No dropout (as in the
    reference). Xavier-uniform weights and zero biases.
    """

    def __init__(self, embed_dim: int, num_heads: int) -> None:
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError(f'embed_dim ({embed_dim}) must be divisible by '
                             f'num_heads ({num_heads})')
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.q_linear = nn.Linear(embed_dim, embed_dim)
        self.v_linear = nn.Linear(embed_dim, embed_dim)
        self.k_linear = nn.Linear(embed_dim, embed_dim)
        self.out = nn.Linear(embed_dim, embed_dim)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for layer in (self.q_linear, self.k_linear, self.v_linear, self.out):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)

    def attention_weights(self, h: torch.Tensor,
                          mask: torch.Tensor) -> torch.Tensor:
        """``a`` of shape ``[H, B_target, B_source]``; ``mask[j, i]`` True
        removes source ``i`` from target ``j``."""
        b = h.size(0)
        q = self.q_linear(h).view(b, self.num_heads, self.head_dim)
        k = self.k_linear(h).view(b, self.num_heads, self.head_dim)
        scores = torch.einsum('jhc,ihc->hji', q, k) / math.sqrt(self.head_dim)
        scores = scores.masked_fill(mask, float('-inf'))
        # implicit zero logit: softmax over [s, 0], drop the extra column
        scores = torch.cat(
            [scores, scores.new_zeros(self.num_heads, b, 1)], dim=-1)
        return scores.softmax(dim=-1)[..., :-1]

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``h [B, D]``, ``mask [B, B]`` (bool) -> ``u [B, D]``."""
        b = h.size(0)
        attn = self.attention_weights(h, mask)
        v = self.v_linear(h).view(b, self.num_heads, self.head_dim)
        out = torch.einsum('hji,ihc->jhc', attn, v).reshape(b, self.embed_dim)
        return self.out(out)


class NodeLayer(nn.Module):
    """One node step, SPEC §3 node step items 1-6.

    ``h ← LN(GELU(h + u))``;
    ``h ← LN(GELU(h + Σ_j GELU(Linear_e2n(e_ij))))`` (if ``edge_to_node``);
    ``h ← LN(GELU(h + Linear2(GELU(Linear1(h)))))``.

    ``update_node`` exists in the reference and in its checkpoints but is
    never used in its computation (checked against the reference vectors):
    it is kept so that checkpoints load, with ``requires_grad=False`` so
    that DDP (``find_unused_parameters=False``) and optimisers ignore it.

    With ``share_norm=False`` the three ``LN(GELU(·))`` are ``norm``,
    ``norm_e2n`` and ``norm_ffn`` instead of ``norm`` three times.
    """

    def __init__(self,
                 embed_dim: int,
                 num_heads: int,
                 edge_to_node: bool = True,
                 share_norm: bool = True,
                 ffn_ratio: int = 4) -> None:
        super().__init__()
        hidden = ffn_ratio * embed_dim
        self.att = MaskedMultiHeadAttention(embed_dim, num_heads)
        self.linear1 = nn.Linear(embed_dim, hidden)
        self.linear2 = nn.Linear(hidden, embed_dim)
        self.with_edge_to_node = edge_to_node
        if edge_to_node:
            self.edge_to_node = nn.Linear(embed_dim, embed_dim)
        self.update_node = nn.Linear(embed_dim, embed_dim)
        self.update_node.requires_grad_(False)
        self.norm = _gelu_layer_norm(embed_dim)
        self.share_norm = share_norm
        if not share_norm:
            if edge_to_node:
                self.norm_e2n = _gelu_layer_norm(embed_dim)
            self.norm_ffn = _gelu_layer_norm(embed_dim)

    def forward(self,
                h: torch.Tensor,
                e: torch.Tensor,
                mask: torch.Tensor,
                layout: EdgeLayout,
                e_half: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``h [B, D]``, ``e [E, D]`` on the edges of ``layout``,
        ``mask [B, B]`` -> ``h [B, D]``. ``e_half``: the ``i ≤ j`` half of
        ``e`` when ``e`` is symmetric (the edge-to-node map then runs once
        per unordered pair)."""
        h = self.norm(h + self.att(h, mask))
        if self.with_edge_to_node:
            norm = self.norm if self.share_norm else self.norm_e2n
            if e_half is not None:
                m = layout.half_sum(F.gelu(self.edge_to_node(e_half)))
            else:
                m = layout.node_sum(F.gelu(self.edge_to_node(e)))
            h = norm(h + m)
        norm = self.norm if self.share_norm else self.norm_ffn
        return norm(h + self.linear2(F.gelu(self.linear1(h))))


class NodeModel(nn.Module):
    """Holder of the node step (the reference's ``node_model.layers``)."""

    def __init__(self, **kwargs) -> None:
        super().__init__()
        self.layers = nn.ModuleList([NodeLayer(**kwargs)])

    def forward(self,
                h: torch.Tensor,
                e: torch.Tensor,
                mask: torch.Tensor,
                layout: EdgeLayout,
                e_half: Optional[torch.Tensor] = None) -> torch.Tensor:
        for layer in self.layers:
            h = layer(h, e, mask, layout, e_half)
        return h


class PairAttention(nn.Module):
    """Edge-step cross-attention, SPEC §3 edge step item 2.

    Single head of full width ``D``: for edge ``(i, j)``,
    ``q = W_q e_ij``, keys/values ``W_k p``, ``W_v p`` of the two tokens
    ``[p_i, p_j]``; ``w = softmax(⟨q, k⟩ / sqrt(D))`` over the two tokens,
    dropout on ``w`` (training only); ``c_ij = Σ w v``. Xavier-uniform
    weights and zero biases.
    """

    def __init__(self, embed_dim: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.embed_dim = embed_dim
        self.q_linear = nn.Linear(embed_dim, embed_dim)
        self.k_linear = nn.Linear(embed_dim, embed_dim)
        self.v_linear = nn.Linear(embed_dim, embed_dim)
        self.dropout = nn.Dropout(dropout)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for layer in (self.q_linear, self.k_linear, self.v_linear):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self,
                e: torch.Tensor,
                p: torch.Tensor,
                layout: EdgeLayout,
                e_half: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``e [E, D]`` on the edges of ``layout``, ``p [B, D]`` ->
        ``c [E, D]``. ``e_half``: the ``i ≤ j`` half of ``e`` when ``e`` is
        symmetric (``q`` is then computed once per unordered pair and
        mirrored; the dropout after the softmax is unaffected)."""
        if e_half is not None:
            q = layout.mirror(self.q_linear(e_half))
        else:
            q = self.q_linear(e)
        k = self.k_linear(p)
        v = self.v_linear(p)
        scores = layout.endpoint_scores(q, k) / math.sqrt(self.embed_dim)
        w = self.dropout(scores.softmax(dim=-1))
        return layout.endpoint_mix(w, v)


class EdgeModel(nn.Module):
    """One edge step, SPEC §3 edge step items 1-3.

    ``p_i = GELU(Linear_n2e(h_i))``; ``c = PairAttention(e, p)``;
    ``e ← LN_e(GELU(e + c))``; ``e ← LN_e(GELU(e + F(e)))`` with
    ``F = Linear(D, rD) → GELU → LayerNorm(rD) → Linear(rD, D)``.
    With ``share_norm=False`` the second ``LN_e(GELU(·))`` is ``norm_ffn``.
    """

    def __init__(self,
                 embed_dim: int,
                 dropout: float = 0.1,
                 share_norm: bool = True,
                 ffn_ratio: int = 4) -> None:
        super().__init__()
        hidden = ffn_ratio * embed_dim
        self.att = PairAttention(embed_dim, dropout)
        self.node_to_edge = nn.Linear(embed_dim, embed_dim)
        self.norm = _gelu_layer_norm(embed_dim)
        self.linear = nn.Sequential(
            nn.Linear(embed_dim, hidden), nn.GELU(), nn.LayerNorm(hidden),
            nn.Linear(hidden, embed_dim))
        self.share_norm = share_norm
        if not share_norm:
            self.norm_ffn = _gelu_layer_norm(embed_dim)

    def forward(self,
                h: torch.Tensor,
                e: torch.Tensor,
                layout: EdgeLayout,
                e_half: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``h [B, D]``, ``e [E, D]`` on the edges of ``layout`` (and its
        ``i ≤ j`` half ``e_half`` when ``e`` is symmetric) -> updated
        ``e [E, D]``."""
        p = F.gelu(self.node_to_edge(h))
        e = self.norm(e + self.att(e, p, layout, e_half))
        norm = self.norm if self.share_norm else self.norm_ffn
        return norm(e + self.linear(e))


class GCLLayer(nn.Module):
    """One GCL layer: a node step (optional) then an edge step."""

    def __init__(self, embed_dim: int, num_heads: int, node_step: bool,
                 edge_to_node: bool, share_norm: bool, dropout: float,
                 ffn_ratio: int) -> None:
        super().__init__()
        if node_step:
            self.node_model = NodeModel(
                embed_dim=embed_dim,
                num_heads=num_heads,
                edge_to_node=edge_to_node,
                share_norm=share_norm,
                ffn_ratio=ffn_ratio)
        else:
            self.node_model = None
        self.edge_model = EdgeModel(embed_dim, dropout, share_norm, ffn_ratio)


def _frozen_bn(dim: int) -> nn.Sequential:
    """``BatchNorm1d`` with weight 1, bias 0, affine not trained."""
    bn = nn.BatchNorm1d(dim)
    nn.init.ones_(bn.weight)
    nn.init.zeros_(bn.bias)
    bn.weight.requires_grad_(False)
    bn.bias.requires_grad_(False)
    return nn.Sequential(bn)


@MODELS.register_module()
class GCLHead(BaseModule):
    """Globally correlation-aware graph head (GCL), SPEC §3.

    On a fully connected graph over the batch (``B²`` ordered edges, self
    included):

    - ``e_ij = (z̃_i ⊙ z̃_j) / (‖z̃_i‖·‖z̃_j‖)`` (:func:`correlation_edges`),
      ``h_i = Linear_in(z_i)`` (``dim_red``);
    - ``T`` layers, each a node step (masked multi-head self-attention over
      the negatives, edge-to-node sum, FFN; see :class:`NodeLayer`) and an
      edge step (node-to-edge cross-attention and FFN; see
      :class:`EdgeModel`);
    - ``λ_ij = sigmoid(Linear_λ(BN_e(e_ij))) ∈ (0, 1)^D`` and
      ``o_i = Linear_cls(BN_n(h_i))``.

    Names follow the authors' code (``dim_red``, ``gnn.{t}.node_model``,
    ``gnn.{t}.edge_model``, ``bottleneck1``, ``bottleneck2``, ``fc``,
    ``cls``), so the official ``gnn.*`` keys load after stripping ``gnn.``.
    Reproducing the authors' worked example settles what SPEC leaves open:
    ``bottleneck1`` is ``BN_e`` (edges, before ``fc`` = ``Linear_λ``) and
    ``bottleneck2`` is ``BN_n`` (nodes, before ``cls``); ``update_node`` is
    unused (kept frozen, see :class:`NodeLayer`); dropout acts only on the
    edge-step attention weights. Both BatchNorms have weight 1 and bias 0
    with ``requires_grad=False`` (SPEC §3); their running statistics are
    updated in training mode (statistics over the ``B²`` edges / ``B``
    nodes) and used in eval mode.

    The positive mask of the node attention comes from ``labels``
    (``y_i = y_j``, self included), not from the batch layout.

    Symmetry: ``e_ij = e_ji`` initially and both steps preserve it, so in
    eval mode ``λ_ij = λ_ji``. With ``symmetric_edges=True`` every per-edge
    computation (initial edges, edge-to-node sums, edge steps) runs on the
    ``i ≤ j`` half (``B(B+1)/2`` edges, see :class:`EdgeLayout`), and the
    edges are mirrored to ``B²`` only for the read-out, which about halves
    the cost of the head (its edge FFNs dominate). Without dropout
    (eval mode, or ``dropout=0``) both modes compute the same function
    (tested to float rounding). In training, the dropout mask of edge
    ``(i, j)`` is then shared by ``(j, i)`` (the reference draws them
    independently), so ``λ`` stays symmetric in training too: the same
    expected value, a different noise correlation. The default (False)
    computes all ``B²`` edges like the reference. In both modes the edges
    are kept as ``[E, D]`` throughout the layers; the full mode uses
    broadcasting instead of index gathers.

    Args:
        embed_dim (int): ``D``.
        num_classes (int): ``C``, training classes of the node classifier.
        num_layers (int): ``T`` (2 for CUB/Cars196, 1 for SOP/InShop).
        num_heads (int): ``H`` of the node attention (4 / 2).
        node_step (bool): False skips the node step entirely ("w/o global
            correlations"); the ``node_model`` modules are not created.
        edge_to_node (bool): False skips node-step item 5 ("w/o Hadamard
            product add."); ``edge_to_node`` is not created.
        share_norm (bool): True (reference, checkpoints load) applies one
            ``LN(GELU(·))`` module three times per node step and twice per
            edge step. False gives each application its own module: node
            ``norm`` / ``norm_e2n`` / ``norm_ffn``, edge ``norm`` /
            ``norm_ffn`` (absent from official checkpoints).
        dropout (float): Dropout on the edge-step attention weights.
        ffn_ratio (int): Hidden width of both FFNs, in units of ``D``.
        symmetric_edges (bool): Compute the edge step on ``i ≤ j`` only.
        init_cfg (dict, optional): MMEngine initialisation config.
    """

    def __init__(self,
                 embed_dim: int,
                 num_classes: int,
                 num_layers: int = 2,
                 num_heads: int = 4,
                 node_step: bool = True,
                 edge_to_node: bool = True,
                 share_norm: bool = True,
                 dropout: float = 0.1,
                 ffn_ratio: int = 4,
                 symmetric_edges: bool = False,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_layers < 1:
            raise ValueError(f'num_layers must be >= 1, got {num_layers}')
        self.embed_dim = embed_dim
        self.num_classes = num_classes
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.node_step = node_step
        self.edge_to_node = edge_to_node
        self.share_norm = share_norm
        self.symmetric_edges = symmetric_edges

        self.dim_red = nn.Linear(embed_dim, embed_dim)
        self.gnn = nn.ModuleList([
            GCLLayer(embed_dim, num_heads, node_step, edge_to_node, share_norm,
                     dropout, ffn_ratio) for _ in range(num_layers)
        ])
        self.bottleneck1 = _frozen_bn(embed_dim)  # BN_e
        self.bottleneck2 = _frozen_bn(embed_dim)  # BN_n
        self.fc = nn.Sequential(nn.Linear(embed_dim, embed_dim))  # Linear_λ
        self.cls = nn.Sequential(nn.Linear(embed_dim, num_classes))
        self._layouts: Dict[tuple, EdgeLayout] = {}

    def _layout(self, b: int, device: torch.device) -> EdgeLayout:
        """The (cached) :class:`EdgeLayout` of a batch of ``b`` nodes."""
        key = (b, str(device), self.symmetric_edges)
        layout = self._layouts.get(key)
        if layout is None:
            layout = self._layouts[key] = EdgeLayout(b, device,
                                                     self.symmetric_edges)
        return layout

    def forward(self,
                z: torch.Tensor,
                labels: torch.Tensor,
                lambda_grad: bool = True) -> Tuple[torch.Tensor, torch.Tensor]:
        """Run the graph head.

        Args:
            z (Tensor): Embeddings ``[B, D]`` (pass ``z.detach()`` where
                SPEC §6 says ``sg(z)``).
            labels (Tensor): Class ids ``[B]``.
            lambda_grad (bool): False when the caller only uses ``sg(λ)``
                (SPEC §6 stage 2): the last edge step and the ``λ``
                read-out then run without autograd (same values, same
                BatchNorm statistics and dropout draws; no activations kept
                for a backward pass that would not use them).

        Returns:
            tuple: ``node_logits [B, C]`` and ``lambdas [B, B, D]``
            (``lambdas[i, j]`` is ``λ_ij``).
        """
        b, d = z.shape
        labels = labels.reshape(-1)
        mask = labels[:, None] == labels[None, :]  # [j, i]: positives
        layout = self._layout(b, z.device)
        # e [E, D]; in the full layout also the i <= j half of the (always
        # symmetric) initial edges: maps of e⁰ run once per unordered pair
        e, e_half = layout.init_edges(_unit_centred(z))
        h = self.dim_red(z)
        no_grad = nullcontext() if lambda_grad else torch.no_grad()
        last = len(self.gnn) - 1
        for t, layer in enumerate(self.gnn):
            if layer.node_model is not None:
                h = layer.node_model(h, e, mask, layout, e_half)
            with no_grad if t == last else nullcontext():
                e = layer.edge_model(h, e, layout, e_half)
            e_half = None  # dropout (full layout) breaks the symmetry
        with no_grad:
            # per edge after BN_e: read out on the computed edges, mirror λ
            edges = layout.batch_norm(self.bottleneck1[0], e)
            lambdas = layout.full(torch.sigmoid(self.fc(edges)))
        node_logits = self.cls(self.bottleneck2(h))
        return node_logits, lambdas


__all__ = ['GCLHead', 'correlation_edges']
