"""NP+ (modified N-pair) metric loss, docs/algorithm.md §5."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from gcahng.registry import MODELS
from ..utils import group_layout
from .utils import fp32


@MODELS.register_module()
class NPairLoss(nn.Module):
    """NP+, the modified N-pair loss ``L_m`` (docs/algorithm.md §5).

    With ``z`` in docs/algorithm.md §1 group order (``G_g = z[gN:(g+1)N]``),
    anchors ``A = G_0`` and soft targets ``T`` = row-normalised label equality
    of the ``N`` class slots::

        L = (1/(M-1)) Σ_{k=1}^{M-1} CE(A·G_kᵀ, T)
            + 0.25·ρ·Σ_{g=0}^{M-1} ‖G_g‖²/N

    where ``CE(logits, T) = mean_rows(-Σ T·log_softmax(logits))``. With
    ``M = 2`` it is the original N-pair loss (Sohn, 2016) with the same L2
    penalty.

    Args:
        reg_weight (float): ``ρ`` (3e-3).
        loss_weight (float): Multiplier of the whole loss.
    """

    def __init__(self,
                 reg_weight: float = 3e-3,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        self.reg_weight = reg_weight
        self.loss_weight = loss_weight

    def forward(self,
                z: torch.Tensor,
                labels: torch.Tensor,
                num_per_class: Optional[int] = None,
                memory_feats: Optional[torch.Tensor] = None,
                memory_labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Args:
            z (Tensor): ``[B, D]`` in group order, ``B = N·M``.
            labels (Tensor): ``[B]``.
            num_per_class (int, optional): ``M``. Inferred (and the group
                order checked) from ``labels`` when None.
            memory_feats (Tensor, optional): ``[K, D]`` past embeddings
                (detached; cross-batch memory, XBM, docs/algorithm.md §10):
                extra columns of every anchor's softmax, positives of the
                soft targets where they have the anchor's class.
            memory_labels (Tensor, optional): ``[K]``.

        Returns:
            Tensor: scalar loss.
        """
        b = z.size(0)
        if num_per_class is None:
            n_cls, m_per = group_layout(labels)
        else:
            m_per = num_per_class
            if m_per < 2 or b % m_per:
                raise ValueError(f'NPairLoss: batch of {b} is not N x M with '
                                 f'M = {m_per} >= 2')
            n_cls = b // m_per
        if m_per < 2:
            raise ValueError('NPairLoss needs M >= 2 samples per class')
        groups = z.view(m_per, n_cls, -1)
        slot = labels.reshape(-1)[:n_cls]
        logits = torch.einsum('nd,kmd->knm', groups[0], groups[1:])
        columns = slot
        if memory_feats is not None and memory_feats.size(0) > 0:
            mem = memory_feats.detach().to(z)
            more = (groups[0] @ mem.t()).expand(m_per - 1, -1, -1)
            logits = torch.cat([logits, more], dim=-1)
            columns = torch.cat([slot, memory_labels.reshape(-1).to(slot)])
        log_prob = F.log_softmax(fp32(logits), dim=-1)
        target = (slot.view(-1, 1) == columns.view(1, -1)).to(log_prob.dtype)
        target = target / target.sum(dim=1, keepdim=True)
        ce = -(target * log_prob).sum(-1).mean()
        reg = fp32(groups).pow(2).sum() / n_cls
        return self.loss_weight * (ce + 0.25 * self.reg_weight * reg)

    def extra_repr(self) -> str:
        return f'reg_weight={self.reg_weight}, loss_weight={self.loss_weight}'


__all__ = ['NPairLoss']
