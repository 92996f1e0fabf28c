"""``L_syn``: the N-pair loss on synthetic negatives, docs/algorithm.md §5."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from gcahng.registry import MODELS
from .utils import fp32


@MODELS.register_module()
class SyntheticPairLoss(nn.Module):
    """``L_syn`` (docs/algorithm.md §5): an N-pair loss whose negatives are
    CACAI's.

    For each anchor group ``a`` (``A_a = G_a``, positives
    ``P = G_{(a+1) mod M}``): ``T[n, m] = S_a[n, m]`` for ``m ≠ n`` and
    ``T[n, n] = P[n]``::

        L_syn = mean_a [ CE_n(⟨A_a[n], T[n, ·]⟩, target n)
                         + 0.25·ρ·(‖A_a‖²/N + ‖T‖²/N²) ]

    (``CE_n`` averaged over the ``N`` anchors). The caller detaches ``λ``
    before synthesising ``S`` (stage 2) and multiplies by ``1 - ω``.

    With ``cosine_scale = s`` the logits are ``s·cos(A_a[n], T[n, m])``
    and there is no L2 penalty: the same loss in the geometry of a cosine
    metric loss (Proxy Anchor), where the norms carry no meaning and a
    synthetic negative inside the ball would otherwise be easier only for
    being shorter.

    Args:
        reg_weight (float): ``ρ`` (3e-3).
        loss_weight (float): Multiplier of the loss.
        cosine_scale (float, optional): ``s`` of the cosine form; None (the
            docs/algorithm.md form) uses dot products.
    """

    def __init__(self,
                 reg_weight: float = 3e-3,
                 loss_weight: float = 1.0,
                 cosine_scale: Optional[float] = None) -> None:
        super().__init__()
        self.reg_weight = reg_weight
        self.loss_weight = loss_weight
        self.cosine_scale = cosine_scale

    def forward(self, z: torch.Tensor,
                synthetic: torch.Tensor) -> torch.Tensor:
        """Args:
            z (Tensor): Real embeddings ``[B, D]`` in group order.
            synthetic (Tensor): ``S [M, N, N, D]``.

        Returns:
            Tensor: scalar loss.
        """
        m_per, n_cls = synthetic.shape[:2]
        groups = z.view(m_per, n_cls, -1)
        positives = groups.roll(-1, dims=0)
        eye = torch.eye(n_cls, dtype=torch.bool, device=z.device)
        targets = torch.where(eye[None, :, :, None],
                              positives.unsqueeze(1).expand_as(synthetic),
                              synthetic)  # T[a, n, n] = P_a[n]
        labels = torch.arange(n_cls, device=z.device).repeat(m_per)
        if self.cosine_scale is not None:
            logits = self.cosine_scale * torch.einsum(
                'and,anmd->anm', F.normalize(fp32(groups), dim=-1),
                F.normalize(fp32(targets), dim=-1))
            ce = F.cross_entropy(logits.reshape(-1, n_cls), labels)
            return self.loss_weight * ce
        logits = torch.einsum('and,anmd->anm', groups, targets)
        ce = F.cross_entropy(
            fp32(logits.reshape(-1, n_cls)), labels, reduction='none')
        ce = ce.view(m_per, n_cls).mean(dim=1)
        reg = (
            fp32(groups).pow(2).sum(dim=(1, 2)) / n_cls +
            fp32(targets).pow(2).sum(dim=(1, 2, 3)) / n_cls**2)
        loss = (ce + 0.25 * self.reg_weight * reg).mean()
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        return (f'reg_weight={self.reg_weight}, loss_weight='
                f'{self.loss_weight}, cosine_scale={self.cosine_scale}')


__all__ = ['SyntheticPairLoss']
