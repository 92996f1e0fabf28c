"""The two attentions of the GCL graph head (docs/algorithm.md §3): the
node step's masked multi-head self-attention and the edge step's
node-to-edge pair attention."""
import math
from typing import Optional

import torch
import torch.nn as nn

from .edge_layout import EdgeLayout


class MaskedMultiHeadAttention(nn.Module):
    """Node-step attention, docs/algorithm.md §3 node step items 1-4 (``u``).

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

    def attention_weights(
            self,
            h: torch.Tensor,
            mask: torch.Tensor,
            sources: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``a`` of shape ``[H, B_target, B_source]``; ``mask[j, i]`` True
        removes source ``i`` from target ``j``. ``sources [S, D]``: the
        source nodes when they are not the targets ``h`` (the batch and
        the memory, docs/algorithm.md §10); ``mask`` is then ``[B, S]``."""
        b = h.size(0)
        src = h if sources is None else sources
        q = self.q_linear(h).view(b, self.num_heads, self.head_dim)
        k = self.k_linear(src).view(src.size(0), self.num_heads, self.head_dim)
        scores = torch.einsum('jhc,ihc->hji', q, k) / math.sqrt(self.head_dim)
        scores = scores.masked_fill(mask, float('-inf'))
        # implicit zero logit: softmax over [s, 0], drop the extra column
        scores = torch.cat(
            [scores, scores.new_zeros(self.num_heads, b, 1)], dim=-1)
        return scores.softmax(dim=-1)[..., :-1]

    def forward(self,
                h: torch.Tensor,
                mask: torch.Tensor,
                sources: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``h [B, D]``, ``mask [B, B]`` (bool) -> ``u [B, D]``; with
        ``sources [S, D]`` the targets ``h`` attend over those (``mask
        [B, S]``)."""
        b = h.size(0)
        attn = self.attention_weights(h, mask, sources)
        src = h if sources is None else sources
        v = self.v_linear(src).view(src.size(0), self.num_heads, self.head_dim)
        out = torch.einsum('hji,ihc->jhc', attn, v).reshape(b, self.embed_dim)
        return self.out(out)


class PairAttention(nn.Module):
    """Edge-step cross-attention, docs/algorithm.md §3 edge step item 2.

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


__all__ = ['MaskedMultiHeadAttention', 'PairAttention']
