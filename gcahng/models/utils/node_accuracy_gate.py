import torch
import torch.nn as nn

from gcahng.utils.cli import UserError


class SynGateSettingError(UserError, ValueError):
    """``model.syn_gate`` holds an impossible setting."""


class NodeAccuracyGate(nn.Module):
    """How far ``L_syn`` may trust the graph head's correlations, from its
    measured node accuracy (docs/algorithm.md §7, "Following the state of
    training").

    The synthetic negatives are interpolated along ``λ``, which the graph
    head reads from the correlations it has learned. While its node
    classifier is at chance those correlations are random, and so are the
    negatives' interpolation vectors. The gate multiplies ``L_syn``'s
    weight by

        g = clamp((â - 1/C) / (k/C - 1/C), 0, 1)

    where ``â`` is a running mean of the head's node accuracy on the
    training batches (``â ← μ·â + (1 - μ)·acc`` every step, from 0),
    ``C`` the number of training classes and ``k = full_at``: ``g = 0`` at
    chance, rising linearly to full weight once the head classifies ``k``
    times better than chance. The epoch schedule ``1 - ω`` is unchanged;
    the gate only delays ``L_syn`` until the correlations mean something.

    ``â`` is a buffer, saved in checkpoints (resume continues with it). In
    global-batch mode every rank sees the same accuracy and so holds the
    same gate; with ``global_batch=False`` each rank follows its own share.
    This is not in the paper or the authors' code, and it is off in every
    config: on the Widelands development split (``full_at=5``) it lost to
    the ungated PA default (docs/algorithm.md §7, with the numbers).

    Args:
        num_classes (int): ``C``, the graph head's classes.
        full_at (float): ``k > 1``: the multiple of chance accuracy at
            which ``L_syn`` gets its full weight.
        momentum (float): ``μ`` in ``[0, 1)`` of the running mean.
    """

    def __init__(self,
                 num_classes: int,
                 full_at: float = 5.0,
                 momentum: float = 0.95) -> None:
        super().__init__()
        if not full_at > 1:
            raise SynGateSettingError(
                f'model.syn_gate.full_at must be above 1 (a multiple of '
                f'chance accuracy), got {full_at!r}')
        if not 0 <= momentum < 1:
            raise SynGateSettingError(
                f'model.syn_gate.momentum must be in [0, 1), got '
                f'{momentum!r}')
        self.chance = 1.0 / num_classes
        self.full_at = float(full_at)
        self.momentum = float(momentum)
        self.register_buffer('accuracy', torch.zeros(()))

    @classmethod
    def from_config(cls, cfg: dict, num_classes: int) -> 'NodeAccuracyGate':
        """The gate of ``model.syn_gate`` (an unknown key is a
        :class:`SynGateSettingError`)."""
        unknown = sorted(set(cfg) - {'full_at', 'momentum'})
        if unknown:
            raise SynGateSettingError(
                f'model.syn_gate takes full_at and momentum, not '
                f'{", ".join(unknown)}')
        return cls(num_classes, **cfg)

    def forward(self) -> torch.Tensor:
        """``g``, a 0-d tensor on the buffer's device (no host copy)."""
        span = (self.full_at - 1.0) * self.chance
        return ((self.accuracy - self.chance) / span).clamp(0.0, 1.0)

    @torch.no_grad()
    def update(self, accuracy: torch.Tensor) -> None:
        """Fold one batch's node accuracy into the running mean."""
        self.accuracy.mul_(self.momentum).add_(
            (1.0 - self.momentum) * accuracy.to(self.accuracy))

    def extra_repr(self) -> str:
        return (f'chance=1/{round(1 / self.chance)}, full_at={self.full_at}, '
                f'momentum={self.momentum}')
