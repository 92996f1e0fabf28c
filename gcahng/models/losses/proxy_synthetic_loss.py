"""``L_syn`` for a proxy metric loss: synthetic negatives as negatives of
their anchor's class proxy, docs/algorithm.md §7."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from gcahng.registry import MODELS
from .proxy_anchor_loss import _log1p_sum_exp
from .utils import fp32


@MODELS.register_module()
class ProxySyntheticLoss(nn.Module):
    """``L_syn`` in the form of Proxy Anchor's negative term
    (docs/algorithm.md §7).

    ``S_a[n, m]`` was generated from anchor ``(a, n)`` of class ``y_n``
    towards a sample of class ``y_m``: it is a negative of class ``y_n``
    and of nothing else (not a positive of ``y_m``, whose proxy it would
    pull towards class ``y_n``). So it enters only the negative term of the
    proxy ``p`` of ``y_n``, as a real negative does in Proxy Anchor
    (cosine ``s``, ``α``, ``δ`` as the metric loss)::

        L_syn = (1/N) Σ_{p ∈ batch classes} log(1 + Σ_{a, n: y_n = p}
                                Σ_{m ≠ n} exp(α(s(S_a[n, m], p) + δ)))

    The anchor itself is in no term: with ``S`` differentiable w.r.t. its
    candidates only (``GCAHNG(syn_grad='candidates')``), pushing a synthetic
    negative away from the proxy moves the proxy and the real negatives it
    was made from, as if they were as hard as ``S``. ``proxy_grad=False``
    holds the proxies constant (on the Widelands development split it kept
    R@1 and lost 2.5 M@R; docs/algorithm.md §7).

    ``drop_inside=True`` leaves out every negative that, for the embedding
    as it is, lies on the class's side of its own anchor:
    ``s(S_a[n, m], p) ≥ s(z_a[n], p)`` with ``p = p_{y_n}`` (the anchors are
    then passed as ``anchors``). Pushing such a negative away from ``p``
    moves ``p`` away from its own class; how many are left out follows the
    state of training (about half of them in the first epochs from
    scratch, few later). Off in every config: on the Widelands development
    split it lost to the default (docs/algorithm.md §7).

    ``reduction`` sets what the sum over proxies is divided by:
    ``'batch_classes'`` (the ``N`` proxies of the batch's classes, the
    formula above) or ``'all_classes'`` (all ``C`` proxies, as Proxy
    Anchor divides its own negative term, so that a synthetic negative
    weighs on its proxy as much as a real one does: ``N/C`` times the
    first). ``'batch_classes'`` in every config: on the Widelands
    development split ``'all_classes'`` lost the gain over the baseline
    (docs/algorithm.md §7). Computed in float32 with autocast off.

    Args:
        alpha (float): ``α`` (32, Proxy Anchor's).
        margin (float): ``δ`` (0.1).
        loss_weight (float): Multiplier of the loss.
        proxy_grad (bool): Let the loss move the proxies too.
        drop_inside (bool): Leave out the negatives closer to the proxy
            than their anchor.
        reduction (str): ``'batch_classes'`` or ``'all_classes'``.
    """
    #: :class:`GCAHNG` passes the labels and the metric loss's proxies
    needs_proxies = True

    def __init__(self,
                 alpha: float = 32.0,
                 margin: float = 0.1,
                 loss_weight: float = 1.0,
                 proxy_grad: bool = True,
                 drop_inside: bool = False,
                 reduction: str = 'batch_classes') -> None:
        super().__init__()
        if reduction not in ('batch_classes', 'all_classes'):
            raise ValueError(
                "ProxySyntheticLoss: reduction must be 'batch_classes' or "
                f"'all_classes', got {reduction!r}")
        self.reduction = reduction
        self.drop_inside = drop_inside
        self.alpha = alpha
        self.margin = margin
        self.loss_weight = loss_weight
        self.proxy_grad = proxy_grad

    def forward(self,
                synthetic: torch.Tensor,
                labels: torch.Tensor,
                proxies: torch.Tensor,
                extra: Optional[torch.Tensor] = None,
                extra_valid: Optional[torch.Tensor] = None,
                anchors: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Args:
            synthetic (Tensor): ``S [M, N, N, D]``.
            labels (Tensor): The batch's labels in group order, ``[B]``
                (their first ``N`` are the class slots).
            proxies (Tensor): The metric loss's proxies ``[C, D]``.
            extra (Tensor, optional): Further negatives made for anchor
                ``(a, n)``, ``[M, N, K', D]`` (the memory's,
                docs/algorithm.md §10): negatives of the proxy of ``y_n``
                like ``S_a[n, ·]``.
            extra_valid (Tensor, optional): ``[M, N, K']``, False leaves
                an extra negative out.
            anchors (Tensor, optional): The anchors ``z [B, D]`` in group
                order, in ``S``'s geometry (needed by ``drop_inside``).

        Returns:
            Tensor: scalar loss.
        """
        m_per, n_cls = synthetic.shape[:2]
        slots = labels.reshape(-1)[:n_cls].long()
        if not self.proxy_grad:
            proxies = proxies.detach()
        if self.drop_inside and anchors is None:
            raise ValueError('ProxySyntheticLoss(drop_inside=True) needs the '
                             'anchors')
        with torch.autocast(device_type=synthetic.device.type, enabled=False):
            p = F.normalize(fp32(proxies[slots]), dim=-1)
            cos = torch.einsum('anmd,nd->anm',
                               F.normalize(fp32(synthetic), dim=-1),
                               p)  # s(S, p_{y_n})
            off = ~torch.eye(n_cls, dtype=torch.bool, device=cos.device)
            off = off.expand(m_per, -1, -1)
            if self.drop_inside:
                with torch.no_grad():  # s(z_a[n], p_{y_n}), [M, N, 1]
                    own = torch.einsum(
                        'and,nd->an',
                        F.normalize(fp32(anchors),
                                    dim=-1).view(m_per, n_cls, -1),
                        p).unsqueeze(-1)
                off = off & (cos.detach() < own)
            logits = self.alpha * (cos + self.margin)
            # per class slot n: all its anchors' negatives, [M*N, N]
            logits = logits.permute(1, 0, 2).reshape(n_cls, -1)
            mask = off.permute(1, 0, 2).reshape(n_cls, -1)
            if extra is not None and extra.size(2) > 0:
                # the proxies normalised again, not ``p``: the same
                # gradients, summed in the order the published runs had
                cos_x = torch.einsum('ankd,nd->ank',
                                     F.normalize(fp32(extra), dim=-1),
                                     F.normalize(fp32(proxies[slots]), dim=-1))
                more = self.alpha * (cos_x + self.margin)
                valid = (
                    torch.ones_like(more, dtype=torch.bool)
                    if extra_valid is None else extra_valid)
                if self.drop_inside:
                    valid = valid & (cos_x.detach() < own)
                logits = torch.cat(
                    [logits, more.permute(1, 0, 2).reshape(n_cls, -1)], 1)
                mask = torch.cat(
                    [mask, valid.permute(1, 0, 2).reshape(n_cls, -1)], 1)
            per_proxy = _log1p_sum_exp(logits.t(), mask.t())
            loss = (
                per_proxy.mean() if self.reduction == 'batch_classes' else
                per_proxy.sum() / proxies.size(0))
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        return (f'alpha={self.alpha}, margin={self.margin}, '
                f'loss_weight={self.loss_weight}, '
                f'proxy_grad={self.proxy_grad}, '
                f'drop_inside={self.drop_inside}, '
                f'reduction={self.reduction!r}')


__all__ = ['ProxySyntheticLoss']
