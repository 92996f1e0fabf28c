import math
from typing import Optional

import torch
from mmengine.dist import all_reduce
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from gcahng.registry import HOOKS


@HOOKS.register_module()
class GraphHealthHook(Hook):
    """Warn once in the log when, after an epoch, the graph head's node
    accuracy is still at chance (docs/algorithm.md §7).

    The hook averages the logged ``gce_acc`` over the epoch (all ranks)
    and compares it with chance, ``1 / C`` (``C`` the graph head's
    classes): it counts as chance while it is within three standard
    deviations of a classifier that guesses (``n`` the nodes classified in
    the epoch, ``1/C + 3·sqrt((1/C)(1 - 1/C)/n)``). The negatives of such a
    head come from random correlations; the warning says so once, the
    first time it happens after the first epoch.
    """
    priority = 'NORMAL'

    def __init__(self) -> None:
        self._sum = 0.0
        self._count = 0
        self._nodes = 0
        self.warned = False

    def before_train_epoch(self, runner) -> None:
        self._sum, self._count, self._nodes = 0.0, 0, 0

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        if outputs and 'gce_acc' in outputs:
            self._sum += float(outputs['gce_acc'])
            self._count += 1
            self._nodes += len(data_batch['data_samples']) if isinstance(
                data_batch, dict) and 'data_samples' in data_batch else 0

    def after_train_epoch(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        head = getattr(model, 'graph_head', None)
        # Under DDP the head itself may be wrapped (one wrapper per
        # sub-module): its attributes live on ``.module``.
        head = getattr(head, 'module', head)
        totals = torch.tensor([self._sum, self._count, self._nodes],
                              dtype=torch.float64)
        all_reduce(totals)
        if self.warned or head is None or runner.epoch < 1 or totals[1] == 0:
            return
        acc = float(totals[0] / totals[1])
        chance = 1.0 / head.num_classes
        nodes = max(float(totals[2]), 1.0)
        limit = chance + 3 * math.sqrt(chance * (1 - chance) / nodes)
        if acc <= limit:
            self.warned = True
            runner.logger.warning(
                f'Epoch {runner.epoch}: the graph head\'s node accuracy '
                f'({acc:.3f}) is still at chance (1/{head.num_classes} = '
                f'{chance:.3f}): its correlations, and so the generated '
                'negatives\' interpolation vectors, are random so far '
                '(docs/algorithm.md §7)')
