"""``L_sim``: keep synthetic negatives near their anchor, docs/algorithm.md
§5."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from gcahng.registry import MODELS
from .utils import fp32


@MODELS.register_module()
class SimilarityLoss(nn.Module):
    """``L_sim = w·mean_{a,n,m} (1 - cos(A_a[n], S_a[n, m]))·[m ≠ n]``
    (docs/algorithm.md §5; a term of ``L_gen``, generation stage of §6).

    The mean runs over all ``M·N·N`` entries (the masked ``m = n`` ones
    count as zeros, as in the reference). The mask is exactly the same-class
    entries ``m = n``: the authors' code zeroes the entries at flat index
    ``n·B + g·N + n`` instead, which is wrong whenever ``M > 1``; the
    reference vector ``l_sim_raw`` agrees with the correct mask.

    Args:
        loss_weight (float): ``w_sim`` (20, the reference value; the
            default of :class:`GCAHNG`'s ``loss_sim``).
        eps (float): ``eps`` of the cosine similarity.
    """

    def __init__(self, loss_weight: float = 20.0, eps: float = 1e-8) -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self.eps = eps

    def forward(self,
                z: torch.Tensor,
                synthetic: torch.Tensor,
                extra: Optional[torch.Tensor] = None,
                extra_valid: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``z [B, D]`` (group order), ``S [M, N, N, D]`` -> scalar.

        ``extra [M, N, K', D]``: further negatives of each anchor (the
        memory's, docs/algorithm.md §10); the mean then runs over the
        ``M·N·(N + K')`` entries, the masked ones (``m = n``,
        ``extra_valid`` False) counting as zeros."""
        m_per, n_cls = synthetic.shape[:2]
        anchors = fp32(z.view(m_per, n_cls, 1, -1))
        cos = F.cosine_similarity(
            anchors, fp32(synthetic), dim=-1, eps=self.eps)
        off_diag = ~torch.eye(n_cls, dtype=torch.bool, device=z.device)
        terms = (1.0 - cos) * off_diag
        if extra is not None and extra.size(2) > 0:
            cos_x = F.cosine_similarity(
                anchors, fp32(extra), dim=-1, eps=self.eps)
            more = 1.0 - cos_x
            if extra_valid is not None:
                more = more * extra_valid
            terms = torch.cat([terms, more], dim=-1)
        return self.loss_weight * terms.mean()

    def extra_repr(self) -> str:
        return f'loss_weight={self.loss_weight}'


__all__ = ['SimilarityLoss']
