"""``L_cls``: h₁'s cross-entropy on the synthetic negatives, docs/algorithm.md
§5."""
from typing import Callable, Optional, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from gcahng.registry import MODELS
from .utils import fp32


@MODELS.register_module()
class SynthClassificationLoss(nn.Module):
    """``L_cls = w·mean_{a,n,m} CE(h₁(S_a[n, m]), y_m)`` (docs/algorithm.md §5;
    a term of ``L_gen``, generation stage of §6).

    Every entry ``S_a[n, m]`` (the ``m = n`` ones included, as in the
    reference) is labelled with the class ``y_m`` of slot ``m``. Gradients
    reach ``S`` (hence ``λ`` and the graph head); h₁'s own gradients from
    this loss are discarded by the caller (h₁ learns only from its loss on
    the real embeddings).

    Call as ``loss(classifier, S, labels)`` (``classifier`` is h₁, applied
    to ``S``) or ``loss(logits, labels)`` with ``logits = h₁(S)`` of shape
    ``[M, N, N, C]``. ``labels`` are the ``N`` slot classes ``[N]`` or the
    group-order batch labels ``[B]`` (their first ``N`` are used).

    Args:
        loss_weight (float): ``w`` (20).
    """

    def __init__(self, loss_weight: float = 20.0) -> None:
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self,
                classifier_or_logits: Union[nn.Module, Callable, torch.Tensor],
                synthetic_or_labels: torch.Tensor,
                labels: Optional[torch.Tensor] = None,
                extra: Optional[torch.Tensor] = None,
                extra_labels: Optional[torch.Tensor] = None,
                extra_valid: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``(classifier, S [M, N, N, D], labels)`` or
        ``(logits [M, N, N, C], labels)`` -> scalar loss.

        With a classifier, ``extra [M, N, K', D]`` are further synthetic
        negatives (the memory's, docs/algorithm.md §10) labelled
        ``extra_labels [M, N, K']`` (their candidates' classes); those
        with ``extra_valid`` True join the mean."""
        if labels is None:
            if not isinstance(classifier_or_logits, torch.Tensor):
                raise TypeError('SynthClassificationLoss(classifier, S, '
                                'labels): labels missing')
            logits, labels = classifier_or_logits, synthetic_or_labels
        else:
            logits = classifier_or_logits(synthetic_or_labels)
        n_cls = logits.size(-2)
        slots = labels.reshape(-1)[:n_cls].long()
        target = slots.expand(logits.shape[:-1])
        ce = F.cross_entropy(
            fp32(logits.reshape(-1, logits.size(-1))),
            target.reshape(-1),
            reduction='none')
        if extra is None or extra.size(2) == 0:
            return self.loss_weight * ce.mean()
        if extra_valid is None:
            extra_valid = torch.ones(
                extra.shape[:-1], dtype=torch.bool, device=extra.device)
        more = extra[extra_valid]
        ce_x = F.cross_entropy(
            fp32(classifier_or_logits(more)),
            extra_labels[extra_valid].long(),
            reduction='sum')
        loss = (ce.sum() + ce_x) / (ce.numel() + more.size(0))
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        return f'loss_weight={self.loss_weight}'


__all__ = ['SynthClassificationLoss']
