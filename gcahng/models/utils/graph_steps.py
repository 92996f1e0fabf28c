"""The node step and the edge step of one GCL layer (docs/algorithm.md §3).

Module names mirror the authors' implementation (``node_model.layers``,
``edge_model``), so that released checkpoints load into
:class:`~gcahng.models.heads.GCLHead`.
"""
from typing import NamedTuple, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from .attention import MaskedMultiHeadAttention, PairAttention
from .edge_layout import BipartiteLayout, EdgeLayout


class MemoryGraph(NamedTuple):
    """The memory part of the GCL graph (docs/algorithm.md §10): memory
    nodes ``h [K, D]`` (sources only, never updated), the batch × memory
    edges ``e [B·K, D]`` on ``layout``, and ``mask [B, K]`` (True where
    memory entry ``k`` has batch node ``i``'s class: not a source of
    ``i``)."""
    h: torch.Tensor
    e: torch.Tensor
    mask: torch.Tensor
    layout: BipartiteLayout


def _gelu_layer_norm(dim: int) -> nn.Sequential:
    """``LN(GELU(·))`` as one module; its LayerNorm is item ``1``."""
    return nn.Sequential(nn.GELU(), nn.LayerNorm(dim))


class NodeLayer(nn.Module):
    """One node step, docs/algorithm.md §3 node step items 1-6.

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
                e_half: Optional[torch.Tensor] = None,
                memory: Optional[MemoryGraph] = None) -> torch.Tensor:
        """``h [B, D]``, ``e [E, D]`` on the edges of ``layout``,
        ``mask [B, B]`` -> ``h [B, D]``. ``e_half``: the ``i ≤ j`` half of
        ``e`` when ``e`` is symmetric (the edge-to-node map then runs once
        per unordered pair). ``memory``: memory nodes and edges; the batch
        nodes then attend over batch and memory, and the edge-to-node sum
        runs over both (docs/algorithm.md §10)."""
        if memory is None:
            h = self.norm(h + self.att(h, mask))
        else:
            h = self.norm(h + self.att(h, torch.cat([mask, memory.mask], 1),
                                       torch.cat([h, memory.h])))
        if self.with_edge_to_node:
            norm = self.norm if self.share_norm else self.norm_e2n
            if e_half is not None:
                m = layout.half_sum(F.gelu(self.edge_to_node(e_half)))
            else:
                m = layout.node_sum(F.gelu(self.edge_to_node(e)))
            if memory is not None:
                m = m + memory.layout.node_sum(
                    F.gelu(self.edge_to_node(memory.e)))
            h = norm(h + m)
        norm = self.norm if self.share_norm else self.norm_ffn
        return norm(h + self.linear2(F.gelu(self.linear1(h))))


class NodeModel(nn.Module):
    """Holder of the node step (the reference's ``node_model.layers``)."""

    def __init__(self, **kwargs) -> None:
        super().__init__()
        self.layers = nn.ModuleList([NodeLayer(**kwargs)])

    def forward(self, h: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        """``h`` through each layer; the other arguments are
        :meth:`NodeLayer.forward`'s."""
        for layer in self.layers:
            h = layer(h, *args, **kwargs)
        return h


class EdgeModel(nn.Module):
    """One edge step, docs/algorithm.md §3 edge step items 1-3.

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


__all__ = ['EdgeModel', 'MemoryGraph', 'NodeLayer', 'NodeModel']
