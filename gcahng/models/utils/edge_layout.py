"""The edges of the GCL graph head: the initial correlation edges and how
they are laid out over the batch (docs/algorithm.md §3, "Initial edges",
"Symmetry")."""
from typing import Optional, Tuple

import torch
import torch.nn as nn


def correlation_edges(z: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Channel-wise correlation edges, docs/algorithm.md §3 "Initial edges".

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
    unit = unit_centred(z, eps)
    return unit.unsqueeze(1) * unit.unsqueeze(0)


def unit_centred(z: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """``z̃_i / ‖z̃_i‖`` (``[B, D]``): ``e_ij`` is the product of rows
    ``i`` and ``j``, so edges are built from this without any tensor larger
    than the edges themselves."""
    centred = z - z.mean(dim=-1, keepdim=True)
    return centred / centred.norm(dim=-1, keepdim=True).clamp_min(eps)


class EdgeLayout:
    """Which edges are computed, and how they map to the ``B²`` ordered
    pairs (docs/algorithm.md §3 "Symmetry").

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

    def edge_stats(self, e: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Mean and biased variance per channel (float32 or wider) of the
        ``B²`` ordered edges, from the edges of this layout: the batch
        statistics :meth:`batch_norm` normalises with in training."""
        x = e if e.dtype in (torch.float32, torch.float64) else e.float()
        n = self.b * self.b
        with torch.autocast(device_type=x.device.type, enabled=False):
            if not self.symmetric:
                return x.mean(0), x.var(0, unbiased=False)
            weight = self.multiplicity.to(x.dtype)
            mean = (weight @ x).view(-1) / n
            var = (weight @ (x - mean).square()).view(-1) / n
        return mean, var


class BipartiteLayout:
    """The memory edges of the GCL head (docs/algorithm.md §10): every
    (batch node ``i``, memory node ``k``) pair, edge ``i·K + k``, for
    ``B`` batch and ``K`` memory nodes. Nodes are indexed ``[0, B)`` for
    the batch and ``[B, B + K)`` for the memory, so that
    :class:`~gcahng.models.utils.PairAttention` runs on these edges
    unchanged, with the node tensor ``cat(h_batch, h_memory)``.

    Args:
        b (int): ``B``.
        k (int): ``K``.
    """
    symmetric = False

    def __init__(self, b: int, k: int) -> None:
        self.b = b
        self.k = k
        self.num_edges = b * k

    def init_edges(self, unit: torch.Tensor,
                   unit_memory: torch.Tensor) -> torch.Tensor:
        """``e⁰_ik = ũ_i ⊙ ũ_k`` ``[B·K, D]`` from the unit-centred batch
        ``[B, D]`` and memory ``[K, D]`` embeddings."""
        return (unit.unsqueeze(1) * unit_memory.unsqueeze(0)).reshape(
            self.num_edges, -1)

    def node_sum(self, f: torch.Tensor) -> torch.Tensor:
        """``m_i = Σ_k f_ik`` ``[B, D]``."""
        return f.view(self.b, self.k, -1).sum(dim=1)

    def endpoint_scores(self, q: torch.Tensor,
                        k: torch.Tensor) -> torch.Tensor:
        """``[⟨q_ik, k_i⟩, ⟨q_ik, k_k⟩]`` ``[B·K, 2]`` (``k [B+K, D]``)."""
        q = q.view(self.b, self.k, -1)
        first = (q * k[:self.b].unsqueeze(1)).sum(-1, keepdim=True)
        second = (q * k[self.b:].unsqueeze(0)).sum(-1, keepdim=True)
        return torch.cat([first, second], dim=-1).view(self.num_edges, 2)

    def endpoint_mix(self, w: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """``w_ik[0]·v_i + w_ik[1]·v_k`` ``[B·K, D]`` (``v [B+K, D]``)."""
        w = w.view(self.b, self.k, 2)
        out = (
            w[..., :1] * v[:self.b].unsqueeze(1) +
            w[..., 1:] * v[self.b:].unsqueeze(0))
        return out.view(self.num_edges, -1)

    def full(self, e: torch.Tensor) -> torch.Tensor:
        """``[B·K, D]`` as ``[B, K, D]``."""
        return e.view(self.b, self.k, -1)


def batch_norm_with(
        bn: nn.BatchNorm1d, x: torch.Tensor,
        stats: Optional[Tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
    """``bn`` applied to ``x`` with given batch statistics ``(mean, var)``
    (training), or its running statistics (eval mode, or ``stats`` None):
    the memory edges are normalised like the batch edges, never with
    statistics of their own (docs/algorithm.md §10)."""
    if stats is None or not (bn.training or bn.running_mean is None):
        mean, var = bn.running_mean, bn.running_var
    else:
        mean, var = stats
    xf = x if x.dtype in (torch.float32, torch.float64) else x.float()
    out = (xf - mean.to(xf)) * torch.rsqrt(var.to(xf) + bn.eps)
    if bn.affine:
        out = out * bn.weight + bn.bias
    return out.to(x.dtype)


__all__ = [
    'BipartiteLayout', 'EdgeLayout', 'batch_norm_with', 'correlation_edges',
    'unit_centred'
]
