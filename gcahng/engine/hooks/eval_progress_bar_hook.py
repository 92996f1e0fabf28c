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

    # MMEngine's Hook routes before/after_{val,test}_{epoch,iter} here
    def _before_epoch(self, runner, mode: str = 'train') -> None:
        if mode != 'train' and is_main_process():
            self._bar = ProgressBar(len(getattr(runner, f'{mode}_dataloader')))

    def _after_iter(self,
                    runner,
                    batch_idx: int,
                    data_batch=None,
                    outputs=None,
                    mode: str = 'train') -> None:
        if mode != 'train' and self._bar is not None:
            self._bar.update()

    def _after_epoch(self, runner, mode: str = 'train') -> None:
        if mode != 'train' and self._bar is not None:
            self._bar.file.write('\n')
            self._bar.file.flush()
            self._bar = None
