"""GCL, the graph head of GCA-HNG (docs/algorithm.md §3).

Module names mirror the authors' implementation so that a released
checkpoint's ``gnn.*`` entries load into :class:`GCLHead` once the ``gnn.``
prefix is stripped (see ``GCLHead`` for the few documented exceptions).
"""
from contextlib import nullcontext
from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from gcahng.registry import MODELS
from ..utils import (BipartiteLayout, EdgeLayout, EdgeModel, MemoryGraph,
                     MemoryView, NodeModel, batch_norm_with, unit_centred)


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
    """Globally correlation-aware graph head (GCL), docs/algorithm.md §3.

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
    Reproducing the authors' worked example settles what docs/algorithm.md
    leaves open: ``bottleneck1`` is ``BN_e`` (edges, before ``fc`` =
    ``Linear_λ``) and ``bottleneck2`` is ``BN_n`` (nodes, before ``cls``);
    ``update_node`` is unused (kept frozen, see :class:`NodeLayer`); dropout
    acts only on the edge-step attention weights. Both BatchNorms have weight 1
    and bias 0 with ``requires_grad=False`` (docs/algorithm.md §3); their
    running statistics are updated in training mode (statistics over the ``B²``
    edges / ``B`` nodes) and used in eval mode.

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

    def forward(
        self,
        z: torch.Tensor,
        labels: torch.Tensor,
        lambda_grad: bool = True,
        node_grad: bool = True,
        memory: Optional[MemoryView] = None,
        return_nodes: bool = False
    ) -> Union[Tuple[torch.Tensor, torch.Tensor], Tuple[
            torch.Tensor, torch.Tensor, torch.Tensor]]:
        """Run the graph head.

        Args:
            z (Tensor): Embeddings ``[B, D]`` (pass ``z.detach()`` where
                docs/algorithm.md §6 says ``sg(z)``).
            labels (Tensor): Class ids ``[B]``.
            lambda_grad (bool): False when the caller only uses ``sg(λ)``
                (the metric stage, docs/algorithm.md §6): the last edge
                step and the ``λ`` read-out run without autograd (same
                values, same BatchNorm statistics and dropout draws; no
                activations kept for a backward pass that would not use
                them).
            node_grad (bool): False: the edge steps read the node states
                detached, so gradients from ``λ`` stop at the edges and do
                not reach the node steps (or ``dim_red``), which then learn
                from the node logits only.
            memory (MemoryView, optional): ``K`` past embeddings (in the
                view of ``z``) and labels, extra *source* nodes
                (docs/algorithm.md §10): batch nodes attend over batch and
                memory (same-label mask), memory nodes are never updated
                (their state is ``Linear_in(z_k)``, or the stored node
                state when ``memory.nodes`` is given), and only the
                ``B × K`` batch-memory edges are added (no memory × memory
                edges). Their ``λ`` is read out with ``BN_e`` at the batch
                edges' statistics. None (or empty): the in-batch head,
                unchanged.
            return_nodes (bool): Also return the final node states
                ``h [B, D]``.

        Returns:
            tuple: ``node_logits [B, C]`` and ``lambdas [B, B, D]``
            (``lambdas[i, j]`` is ``λ_ij``), ``[B, B + K, D]`` with a
            memory (``lambdas[i, B + k]`` is ``λ`` of memory entry ``k``);
            and ``h`` with ``return_nodes``.
        """
        b, d = z.shape
        labels = labels.reshape(-1)
        mask = labels[:, None] == labels[None, :]  # [j, i]: positives
        layout = self._layout(b, z.device)
        # e [E, D]; in the full layout also the i <= j half of the (always
        # symmetric) initial edges: maps of e⁰ run once per unordered pair
        unit = unit_centred(z)
        e, e_half = layout.init_edges(unit)
        h = self.dim_red(z)
        mem = None
        if memory is not None and memory.num_entries > 0:
            z_mem = memory.feats.to(z)
            bip = BipartiteLayout(b, z_mem.size(0))
            h_mem = (
                self.dim_red(z_mem)
                if memory.nodes is None else memory.nodes.to(z))
            mem_labels = memory.labels.to(labels.device)
            mem = MemoryGraph(h_mem, bip.init_edges(unit, unit_centred(z_mem)),
                              labels[:, None] == mem_labels[None, :], bip)
        no_grad = nullcontext() if lambda_grad else torch.no_grad()
        last = len(self.gnn) - 1
        for t, layer in enumerate(self.gnn):
            if layer.node_model is not None:
                h = layer.node_model(h, e, mask, layout, e_half, mem)
            with no_grad if t == last else nullcontext():
                h_edge = h if node_grad else h.detach()
                e_new = layer.edge_model(h_edge, e, layout, e_half)
                if mem is not None:
                    h_mem = mem.h if node_grad else mem.h.detach()
                    mem = mem._replace(
                        e=layer.edge_model(
                            torch.cat([h_edge, h_mem]), mem.e, mem.layout))
                e = e_new
            e_half = None  # dropout (full layout) breaks the symmetry
        with no_grad:
            # per edge after BN_e: read out on the computed edges, mirror λ
            bn = self.bottleneck1[0]
            edges = layout.batch_norm(bn, e)
            lambdas = layout.full(torch.sigmoid(self.fc(edges)))
            if mem is not None:
                stats = layout.edge_stats(e) if bn.training else None
                lam_mem = torch.sigmoid(
                    self.fc(batch_norm_with(bn, mem.e, stats)))
                lambdas = torch.cat([lambdas, mem.layout.full(lam_mem)], dim=1)
        node_logits = self.cls(self.bottleneck2(h))
        if return_nodes:
            return node_logits, lambdas, h
        return node_logits, lambdas


__all__ = ['GCLHead']
