"""``L_div``: spread of the interpolation vectors, docs/algorithm.md §5."""
import torch
import torch.nn as nn

from gcahng.registry import MODELS
from .utils import fp32


@MODELS.register_module()
class DiversityLoss(nn.Module):
    """``L_div = w·(1 - sqrt(mean_{i,j} ‖λ_ij - λ̄_i‖²))``,
    ``λ̄_i = mean_j λ_ij`` (docs/algorithm.md §5; a term of ``L_gen``, stage 4
    of §6).

    ``loss_weight`` is the whole multiplier: docs/algorithm.md writes the term
    as ``w_div·0.01·(…)``, so a config sets ``loss_weight = 0.01·w_div``
    (e.g. 0.6 for ``w_div = 60``). The square root's argument is clamped at
    ``eps`` (a constant ``λ`` would otherwise give an infinite gradient).

    Args:
        loss_weight (float): ``0.01·w_div`` (0.6, i.e. ``w_div = 60``, the
            NP+ reference value; the default of :class:`GCAHNG`'s
            ``loss_div``).
        eps (float): Lower bound inside the square root.
    """

    def __init__(self, loss_weight: float = 0.6, eps: float = 1e-12) -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self.eps = eps

    def forward(self, lambdas: torch.Tensor) -> torch.Tensor:
        """``λ [B, B, D]`` -> scalar loss."""
        lam = fp32(lambdas)
        spread = (lam - lam.mean(dim=1, keepdim=True)).pow(2).sum(-1).mean()
        return self.loss_weight * (1.0 - spread.clamp_min(self.eps).sqrt())

    def extra_repr(self) -> str:
        return f'loss_weight={self.loss_weight}'


__all__ = ['DiversityLoss']
