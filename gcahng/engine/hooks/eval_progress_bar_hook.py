from typing import Optional

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.utils import ProgressBar

from gcahng.registry import HOOKS


@HOOKS.register_module()
class EvalProgressBarHook(Hook):
    """A progress bar over the batches of every validation and test run.

    Embedding a benchmark's test set takes minutes (SOP: 60k images), and
    MMEngine's logger prints only every ``interval`` batches. The bar is
    drawn on the main process only, on the terminal the logger writes to.
    """
    priority = 'BELOW_NORMAL'

    def __init__(self) -> None:
        self._bar: Optional[ProgressBar] = None

    def _start(self, runner, dataloader) -> None:
        if is_main_process():
            self._bar = ProgressBar(len(dataloader))

    def _update(self) -> None:
        if self._bar is not None:
            self._bar.update()

    def _finish(self) -> None:
        if self._bar is not None:
            self._bar.file.write('\n')
            self._bar.file.flush()
            self._bar = None

    def before_val_epoch(self, runner) -> None:
        self._start(runner, runner.val_dataloader)

    def before_test_epoch(self, runner) -> None:
        self._start(runner, runner.test_dataloader)

    def after_val_iter(self,
                       runner,
                       batch_idx,
                       data_batch=None,
                       outputs=None) -> None:
        self._update()

    def after_test_iter(self,
                        runner,
                        batch_idx,
                        data_batch=None,
                        outputs=None) -> None:
        self._update()

    def after_val_epoch(self, runner, metrics=None) -> None:
        self._finish()

    def after_test_epoch(self, runner, metrics=None) -> None:
        self._finish()
