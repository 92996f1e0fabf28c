from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from gcahng.registry import HOOKS


@HOOKS.register_module()
class BackboneWarmupHook(Hook):
    """Freeze the backbone for the first ``warmup_epochs`` epochs
    (docs/algorithm.md §2).

    During warm-up only the neck (and the PA proxies, and for GCA-HNG the
    graph head and h₁) learn. The hook sets the model's ``backbone_frozen``
    flag before every epoch from the epoch number alone, so a resumed run
    is frozen exactly when an uninterrupted one would be.

    Args:
        warmup_epochs (int): Number of epochs with the backbone frozen.
    """

    def __init__(self, warmup_epochs: int = 1) -> None:
        if warmup_epochs < 0:
            raise ValueError('BackboneWarmupHook: warmup_epochs must be >= 0,'
                             f' got {warmup_epochs}')
        self.warmup_epochs = warmup_epochs

    def before_train_epoch(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        frozen = runner.epoch < self.warmup_epochs
        if frozen != model.backbone_frozen:
            runner.logger.info(
                f'Epoch {runner.epoch + 1}: backbone '
                f'{"frozen (warm-up)" if frozen else "unfrozen"}')
        model.backbone_frozen = frozen

    def after_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        model.backbone_frozen = False
