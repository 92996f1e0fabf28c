"""A TensorBoard vis backend that steps aside when TensorBoard is missing.

Configs are data: they cannot ``try: import tensorboard``. This backend can
be listed in every config's ``vis_backends``; it writes event files exactly
like mmengine's ``TensorboardVisBackend`` when
``torch.utils.tensorboard`` imports, and otherwise logs one info line and
ignores every call.
"""
import logging
from typing import Any

from mmengine.logging import print_log
from mmengine.visualization import TensorboardVisBackend

from gcahng.registry import VISBACKENDS


class _NullWriter:
    """Accepts any ``SummaryWriter`` call and does nothing."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith('__'):
            raise AttributeError(name)
        return self._ignore

    @staticmethod
    def _ignore(*args, **kwargs) -> None:
        return None


@VISBACKENDS.register_module()
class OptionalTensorboardVisBackend(TensorboardVisBackend):
    """``TensorboardVisBackend`` if TensorBoard is installed, else a no-op.

    Use it in a config like the mmengine backend::

        vis_backends = [
            dict(type='LocalVisBackend'),
            dict(type='OptionalTensorboardVisBackend'),
        ]

    The check happens when the backend is first used (mmengine initialises
    vis backends lazily). Without TensorBoard (``pip install tensorboard``,
    listed in ``requirements/optional.txt``) one info line is logged and
    every ``add_*`` call is ignored; :attr:`available` tells which case
    applies after initialisation.

    Args:
        save_dir (str): Where the event files go (the Visualizer passes the
            run's ``vis_data`` folder).
    """

    def __init__(self, save_dir: str) -> None:
        super().__init__(save_dir)
        self.available = None

    def _init_env(self) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter  # noqa: F401
        except ImportError as err:
            self.available = False
            self._tensorboard = _NullWriter()
            print_log(
                'TensorBoard is not installed, so training is not logged to '
                f'TensorBoard ({err}); `pip install tensorboard` to enable '
                'it. Other vis backends are unaffected.',
                logger='current',
                level=logging.INFO)
            return
        super()._init_env()
        self.available = True


__all__ = ['OptionalTensorboardVisBackend']
