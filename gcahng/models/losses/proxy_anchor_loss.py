"""Proxy Anchor metric loss (Kim et al., CVPR 2020), docs/algorithm.md §5."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from gcahng.registry import MODELS


def _log1p_sum_exp(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``log(1 + Σ_i mask_i·exp(logits_i))`` over dim 0, computed as a
    logsumexp with an extra zero logit (finite, and zero when the mask is
    empty, with finite gradients)."""
    masked = logits.masked_fill(~mask, float('-inf'))
    zero = masked.new_zeros((1, ) + masked.shape[1:])
    return torch.logsumexp(torch.cat([zero, masked], dim=0), dim=0)


@MODELS.register_module()
class ProxyAnchorLoss(nn.Module):
    """Proxy Anchor loss ``L_m`` (Kim et al., CVPR 2020; docs/algorithm.md §5).

    With ``s(x, p)`` the cosine similarity, ``P⁺`` the proxies with at least
    one positive in the batch, ``X_p⁺`` / ``X_p⁻`` the batch samples of /
    not of proxy ``p``'s class::

        L = (1/|P⁺|) Σ_{p∈P⁺} log(1 + Σ_{x∈X_p⁺} exp(-α(s(x,p) - δ)))
          + (1/|P|)  Σ_{p∈P}  log(1 + Σ_{x∈X_p⁻} exp( α(s(x,p) + δ)))

    Each ``log(1 + Σ exp)`` is a logsumexp with an extra zero logit
    (numerically stable), and everything is computed in float32 with
    autocast disabled (AMP-safe). ``proxies`` (``[C, D]``, Kaiming-normal
    ``fan_out`` init as Kim et al.) are trained with the metric model (the
    reference uses 100x its learning rate; set that in the optimiser's
    ``paramwise_cfg``).

    Args:
        num_classes (int): ``C``, number of training classes.
        embed_dim (int): ``D``.
        margin (float): ``δ`` (0.1).
        alpha (float): ``α`` (32).
        loss_weight (float): Multiplier of the loss.
    """

    def __init__(self,
                 num_classes: int,
                 embed_dim: int,
                 margin: float = 0.1,
                 alpha: float = 32.0,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.embed_dim = embed_dim
        self.margin = margin
        self.alpha = alpha
        self.loss_weight = loss_weight
        self.proxies = nn.Parameter(torch.empty(num_classes, embed_dim))
        nn.init.kaiming_normal_(self.proxies, mode='fan_out')

    def forward(self,
                z: torch.Tensor,
                labels: torch.Tensor,
                memory_feats: Optional[torch.Tensor] = None,
                memory_labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``z [B, D]`` (any order), ``labels [B]`` -> scalar loss.

        ``memory_feats [K, D]`` / ``memory_labels [K]``: past embeddings
        (detached; cross-batch memory, XBM, docs/algorithm.md §10) that
        join the batch as further positives and negatives of the
        proxies."""
        if memory_feats is not None and memory_feats.size(0) > 0:
            z = torch.cat([z, memory_feats.detach().to(z)])
            labels = torch.cat(
                [labels.reshape(-1),
                 memory_labels.reshape(-1).to(labels)])
        dtype = torch.promote_types(
            torch.promote_types(z.dtype, self.proxies.dtype), torch.float32)
        with torch.autocast(device_type=z.device.type, enabled=False):
            cos = F.normalize(
                z.to(dtype), dim=-1) @ F.normalize(
                    self.proxies.to(dtype), dim=-1).t()  # [B, C]
            pos = F.one_hot(labels.long(), self.num_classes).bool()
            pos_term = _log1p_sum_exp(-self.alpha * (cos - self.margin), pos)
            neg_term = _log1p_sum_exp(self.alpha * (cos + self.margin), ~pos)
            with_pos = pos.any(dim=0)
            num_valid = with_pos.sum().clamp_min(1)
            loss = (pos_term * with_pos).sum() / num_valid + \
                neg_term.sum() / self.num_classes
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        return (f'num_classes={self.num_classes}, '
                f'embed_dim={self.embed_dim}, margin={self.margin}, '
                f'alpha={self.alpha}, loss_weight={self.loss_weight}')


__all__ = ['ProxyAnchorLoss']
