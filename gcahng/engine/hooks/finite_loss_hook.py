from typing import Optional

import torch
from mmengine.hooks import Hook

from gcahng.registry import HOOKS
from gcahng.utils.cli import UserError


class NonFiniteLossError(UserError, RuntimeError):
    """A loss became NaN or infinite; the run stopped at that iteration."""


@HOOKS.register_module()
class FiniteLossHook(Hook):
    """Stop training at the first iteration whose losses are not finite.

    After every training iteration the logged values whose name starts
    with ``loss`` are checked (one device-to-host copy for all of them).
    A NaN or infinite one raises :class:`NonFiniteLossError` naming the
    losses, the epoch and the iteration. The hook runs before the
    checkpoint hook, so no checkpoint is written from the broken state:
    the last good one stays the newest.
    """
    priority = 'ABOVE_NORMAL'

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        if not outputs:
            return
        names = [
            k for k, v in outputs.items()
            if k.startswith('loss') and isinstance(v, torch.Tensor)
        ]
        if not names:
            return
        values = torch.stack(
            [outputs[k].detach().float().reshape(()) for k in names])
        finite = torch.isfinite(values)
        if bool(finite.all()):
            return
        bad = ', '.join(f'{k}={float(v)}'
                        for k, v, ok in zip(names, values, finite) if not ok)
        raise NonFiniteLossError(
            f'non-finite loss at epoch {runner.epoch + 1}, iteration '
            f'{runner.iter + 1}: {bad}; the run stopped without saving this '
            'state (the last checkpoint in the work dir is the last good '
            'one)')
