"""GCL, the graph head of GCA-HNG (SPEC §3).

Module names mirror the authors' implementation so that a released
checkpoint's ``gnn.*`` entries load into :class:`GCLHead` once the ``gnn.``
prefix is stripped (see ``GCLHead`` for the few documented exceptions).
"""
import math
from typing import List, Optional, Tuple, Union

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
    centred = z - z.mean(dim=-1, keepdim=True)
    unit = centred / centred.norm(dim=-1, keepdim=True).clamp_min(eps)
    return unit.unsqueeze(1) * unit.unsqueeze(0)


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

    def forward(self, h: torch.Tensor, e: torch.Tensor,
                mask: torch.Tensor) -> torch.Tensor:
        """``h [B, D]``, ``e [B, B, D]``, ``mask [B, B]`` -> ``h [B, D]``."""
        h = self.norm(h + self.att(h, mask))
        if self.with_edge_to_node:
            norm = self.norm if self.share_norm else self.norm_e2n
            h = norm(h + F.gelu(self.edge_to_node(e)).sum(dim=1))
        norm = self.norm if self.share_norm else self.norm_ffn
        return norm(h + self.linear2(F.gelu(self.linear1(h))))


class NodeModel(nn.Module):
    """Holder of the node step (the reference's ``node_model.layers``)."""

    def __init__(self, **kwargs) -> None:
        super().__init__()
        self.layers = nn.ModuleList([NodeLayer(**kwargs)])

    def forward(self, h: torch.Tensor, e: torch.Tensor,
                mask: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            h = layer(h, e, mask)
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

    def forward(self, e: torch.Tensor, p: torch.Tensor, rows: torch.Tensor,
                cols: torch.Tensor) -> torch.Tensor:
        """``e [E, D]`` (edge ``k`` joins ``rows[k]`` and ``cols[k]``),
        ``p [B, D]`` -> ``c [E, D]``."""
        q = self.q_linear(e)
        k = self.k_linear(p)
        v = self.v_linear(p)
        scale = math.sqrt(self.embed_dim)
        scores = torch.stack([(q * k[rows]).sum(-1), (q * k[cols]).sum(-1)],
                             dim=-1) / scale
        w = self.dropout(scores.softmax(dim=-1))
        return w[:, :1] * v[rows] + w[:, 1:] * v[cols]


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

    def forward(self, h: torch.Tensor, e: torch.Tensor, rows: torch.Tensor,
                cols: torch.Tensor) -> torch.Tensor:
        """``h [B, D]``, ``e [E, D]`` on the edges ``(rows, cols)`` ->
        updated ``e [E, D]``."""
        p = F.gelu(self.node_to_edge(h))
        e = self.norm(e + self.att(e, p, rows, cols))
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
    eval mode ``λ_ij = λ_ji``. With ``symmetric_edges=True`` the edge step
    runs on the ``i ≤ j`` half (``B(B+1)/2`` edges) and is mirrored, which
    halves the cost of the edge FFN; the dropout mask of edge ``(i, j)`` is
    then shared by ``(j, i)`` (the reference draws them independently), so
    ``λ`` stays symmetric in training too. The default (False) computes all
    ``B²`` edges like the reference.

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

    def _edge_index(self, b: int,
                    device: torch.device) -> Tuple[torch.Tensor, ...]:
        """``rows, cols`` of the computed edges and, in symmetric mode, the
        ``[B, B]`` map from every ordered pair to its computed edge."""
        if not self.symmetric_edges:
            idx = torch.arange(b, device=device)
            return idx.repeat_interleave(b), idx.repeat(b), None
        rows, cols = torch.triu_indices(b, b, device=device)
        half = torch.empty(b, b, dtype=torch.long, device=device)
        ar = torch.arange(rows.numel(), device=device)
        half[rows, cols] = ar
        half[cols, rows] = ar
        return rows, cols, half

    def forward(self, z: torch.Tensor,
                labels: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Run the graph head.

        Args:
            z (Tensor): Embeddings ``[B, D]`` (pass ``z.detach()`` where
                SPEC §6 says ``sg(z)``).
            labels (Tensor): Class ids ``[B]``.

        Returns:
            tuple: ``node_logits [B, C]`` and ``lambdas [B, B, D]``
            (``lambdas[i, j]`` is ``λ_ij``).
        """
        b, d = z.shape
        labels = labels.reshape(-1)
        mask = labels[:, None] == labels[None, :]  # [j, i]: positives
        rows, cols, half = self._edge_index(b, z.device)
        e = correlation_edges(z)  # [B, B, D]
        h = self.dim_red(z)
        for layer in self.gnn:
            if layer.node_model is not None:
                h = layer.node_model(h, e, mask)
            if half is None:
                e = layer.edge_model(h, e.reshape(b * b, d), rows, cols)
                e = e.view(b, b, d)
            else:
                e = layer.edge_model(h, e[rows, cols], rows, cols)[half]
        edges = self.bottleneck1(e.reshape(b * b, d))
        lambdas = torch.sigmoid(self.fc(edges)).view(b, b, d)
        node_logits = self.cls(self.bottleneck2(h))
        return node_logits, lambdas


__all__ = ['GCLHead', 'correlation_edges']
