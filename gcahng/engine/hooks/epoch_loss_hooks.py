import torch
from mmengine.dist import all_reduce
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from gcahng.registry import HOOKS


class EpochMeanLossHook(Hook):
    """Average a training loss over an epoch into a model buffer.

    After every iteration the value ``outputs[loss_key]`` of the model's
    log variables is accumulated; at the epoch end the mean over all
    iterations of all ranks is written into the model buffer
    ``buffer_name``. The buffer lives in the model's state dict, so it is
    saved with every checkpoint and restored by ``--resume`` and
    ``load_from``. The factor the model derives from it, ``exp(-c / J̄)``
    (the model's own formula, read from its property ``factor_attr``), is
    logged once per epoch as ``train/<factor_name>``.

    Subclasses fix ``loss_key``, ``buffer_name``, ``factor_attr`` and
    ``factor_name``.
    """
    priority = 'NORMAL'
    loss_key: str
    buffer_name: str
    factor_attr: str
    factor_name: str

    def __init__(self) -> None:
        self._sum = 0.0
        self._count = 0

    def before_train_epoch(self, runner) -> None:
        self._sum, self._count = 0.0, 0

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        if outputs and self.loss_key in outputs:
            self._sum += float(outputs[self.loss_key])
            self._count += 1

    def after_train_epoch(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        buffer = getattr(model, self.buffer_name)
        totals = torch.tensor([self._sum, float(self._count)],
                              dtype=torch.float64,
                              device=buffer.device)
        all_reduce(totals)
        if totals[1] > 0:
            buffer.fill_(float(totals[0] / totals[1]))
        factor = float(getattr(model, self.factor_attr))
        runner.message_hub.update_scalar(f'train/{self.factor_name}', factor)
        runner.logger.info(
            f'Epoch {runner.epoch}: mean {self.loss_key} = '
            f'{float(buffer):.4f} -> {self.factor_name} = {factor:.4f}')


@HOOKS.register_module()
class HardnessScheduleHook(EpochMeanLossHook):
    """``η = exp(-α / J̄_m)``, ``J̄_m`` the previous epoch's mean ``L_m``
    (docs/algorithm.md §4). Feeds ``GCAHNG.avg_metric_loss``; logs
    ``GCAHNG.hardness``."""
    loss_key = 'loss_metric'
    buffer_name = 'avg_metric_loss'
    factor_attr = 'hardness'
    factor_name = 'hardness_eta'


@HOOKS.register_module()
class BalanceFactorHook(EpochMeanLossHook):
    """``ω = exp(-β / J̄_gen)``, ``J̄_gen`` the previous epoch's mean
    ``L_gen``; ``L_syn`` is weighted by ``1 - ω`` (docs/algorithm.md §6).
    Feeds ``GCAHNG.avg_gen_loss``; logs ``GCAHNG.balance``."""
    loss_key = 'loss_gen'
    buffer_name = 'avg_gen_loss'
    factor_attr = 'balance'
    factor_name = 'balance_omega'
