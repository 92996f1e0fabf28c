"""``L_syn``: the N-pair loss on synthetic negatives, docs/algorithm.md §5."""
from typing import Optional, Tuple

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
    before synthesising ``S`` (the metric stage) and multiplies by
    ``1 - ω``.

    With ``cosine_scale = s`` the logits are ``s·cos(A_a[n], T[n, m])``
    and there is no L2 penalty: the same loss in the geometry of a cosine
    metric loss (Proxy Anchor), where the norms carry no meaning and a
    synthetic negative inside the ball would otherwise be easier only for
    being shorter.

    With ``drop_harder_than_positive=True`` a synthetic negative whose
    logit is at least its anchor's positive logit (it is closer to the
    anchor, in the loss's own similarity, than a sample of the anchor's
    class) is left out of the softmax: it lies inside the anchor's class,
    the cross-entropy cannot be won against it, and its gradient pushes
    the anchor away from its own class (docs/algorithm.md §7). The choice
    is made on the detached logits; an anchor left without negatives
    contributes zero.

    Args:
        reg_weight (float): ``ρ`` (3e-3).
        loss_weight (float): Multiplier of the loss.
        cosine_scale (float, optional): ``s`` of the cosine form; None (the
            docs/algorithm.md form) uses dot products.
        drop_harder_than_positive (bool): Leave out the synthetic negatives
            harder than the anchor's positive. False (the authors' code)
            uses all of them.
    """

    def __init__(self,
                 reg_weight: float = 3e-3,
                 loss_weight: float = 1.0,
                 cosine_scale: Optional[float] = None,
                 drop_harder_than_positive: bool = False) -> None:
        super().__init__()
        self.reg_weight = reg_weight
        self.loss_weight = loss_weight
        self.cosine_scale = cosine_scale
        self.drop_harder_than_positive = drop_harder_than_positive

    def logits(self, z: torch.Tensor,
               synthetic: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """The targets ``T [M, N, N, D]`` (``T[a, n, n]`` the positive) and
        the logits ``⟨A_a[n], T[a, n, m]⟩`` (or their cosine form),
        ``[M, N, N]``."""
        m_per, n_cls = synthetic.shape[:2]
        groups = z.view(m_per, n_cls, -1)
        positives = groups.roll(-1, dims=0)
        eye = torch.eye(n_cls, dtype=torch.bool, device=z.device)
        targets = torch.where(eye[None, :, :, None],
                              positives.unsqueeze(1).expand_as(synthetic),
                              synthetic)  # T[a, n, n] = P_a[n]
        if self.cosine_scale is not None:
            return targets, self.cosine_scale * torch.einsum(
                'and,anmd->anm', F.normalize(fp32(groups), dim=-1),
                F.normalize(fp32(targets), dim=-1))
        return targets, fp32(torch.einsum('and,anmd->anm', groups, targets))

    @staticmethod
    @torch.no_grad()
    def harder_than_positive(logits: torch.Tensor) -> torch.Tensor:
        """``[M, N, N]`` mask of the synthetic negatives whose logit is at
        least their anchor's positive logit (the diagonal)."""
        pos = logits.diagonal(dim1=1, dim2=2).unsqueeze(-1)
        eye = torch.eye(logits.size(1), dtype=torch.bool, device=logits.device)
        return (logits >= pos) & ~eye

    def extra_logits(self, z: torch.Tensor,
                     extra: torch.Tensor) -> torch.Tensor:
        """Logits ``⟨A_a[n], E[a, n, k]⟩`` (or their cosine form) of extra
        negatives ``E [M, N, K', D]``, ``[M, N, K']``."""
        m_per, n_cls = extra.shape[:2]
        groups = z.view(m_per, n_cls, -1)
        if self.cosine_scale is not None:
            return self.cosine_scale * torch.einsum(
                'and,ankd->ank', F.normalize(fp32(groups), dim=-1),
                F.normalize(fp32(extra), dim=-1))
        return fp32(torch.einsum('and,ankd->ank', groups, extra))

    def forward(self,
                z: torch.Tensor,
                synthetic: torch.Tensor,
                extra: Optional[torch.Tensor] = None,
                extra_valid: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Args:
            z (Tensor): Real embeddings ``[B, D]`` in group order.
            synthetic (Tensor): ``S [M, N, N, D]``.
            extra (Tensor, optional): Further negatives of each anchor,
                ``[M, N, K', D]`` (the memory's, docs/algorithm.md §10):
                extra columns of the anchor's softmax. The L2 penalty stays
                on the in-batch terms.
            extra_valid (Tensor, optional): ``[M, N, K']``, False leaves
                an extra negative out (same class as the anchor).

        Returns:
            Tensor: scalar loss.
        """
        m_per, n_cls = synthetic.shape[:2]
        targets, logits = self.logits(z, synthetic)
        if self.drop_harder_than_positive:
            logits = logits.masked_fill(
                self.harder_than_positive(logits), float('-inf'))
        if extra is not None and extra.size(2) > 0:
            more = self.extra_logits(z, extra)
            drop = torch.zeros_like(more, dtype=torch.bool)
            if extra_valid is not None:
                drop = ~extra_valid
            if self.drop_harder_than_positive:
                pos = logits.detach().diagonal(dim1=1, dim2=2).unsqueeze(-1)
                drop = drop | (more.detach() >= pos)
            logits = torch.cat(
                [logits, more.masked_fill(drop, float('-inf'))], dim=-1)
        labels = torch.arange(n_cls, device=z.device).repeat(m_per)
        ce = F.cross_entropy(
            logits.reshape(m_per * n_cls, -1), labels, reduction='none')
        if self.cosine_scale is not None:
            return self.loss_weight * ce.mean()
        ce = ce.view(m_per, n_cls).mean(dim=1)
        groups = fp32(z).view(m_per, n_cls, -1)
        reg = (
            groups.pow(2).sum(dim=(1, 2)) / n_cls +
            fp32(targets).pow(2).sum(dim=(1, 2, 3)) / n_cls**2)
        loss = (ce + 0.25 * self.reg_weight * reg).mean()
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        return (f'reg_weight={self.reg_weight}, loss_weight='
                f'{self.loss_weight}, cosine_scale={self.cosine_scale}, '
                'drop_harder_than_positive='
                f'{self.drop_harder_than_positive}')


__all__ = ['SyntheticPairLoss']
