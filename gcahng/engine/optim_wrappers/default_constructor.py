"""MMEngine's optimiser-wrapper constructor, with one line for frozen
parameters instead of one warning each.

:class:`~mmengine.optim.DefaultOptimWrapperConstructor` logs a warning for
every parameter with ``requires_grad=False`` that it leaves out (106 lines for
a ResNet-50 whose BatchNorms are frozen). Leaving frozen parameters out is
what a frozen parameter is for, so here they are counted and reported in one
``INFO`` line. Registered in the gcahng registry under mmengine's own name, so
every config (``default_scope = 'gcahng'``) gets it without a config change.
"""
from mmengine.logging import print_log
from mmengine.optim import DefaultOptimWrapperConstructor as _MMEngineDefault
from mmengine.optim import OptimWrapper
from torch import nn

from gcahng.registry import OPTIM_WRAPPER_CONSTRUCTORS
from gcahng.utils.logging import withheld_log_records

_SKIPPED = r' is skipped since its requires_grad=False$'


@OPTIM_WRAPPER_CONSTRUCTORS.register_module(
    name='DefaultOptimWrapperConstructor')
class DefaultOptimWrapperConstructor(_MMEngineDefault):
    """:class:`mmengine.optim.DefaultOptimWrapperConstructor` that reports
    the frozen parameters it leaves out in one line."""

    def __call__(self, model: nn.Module) -> OptimWrapper:
        with withheld_log_records(_SKIPPED) as skipped:
            optim_wrapper = super().__call__(model)
        if skipped:
            first = skipped[0].split(' ', 1)[0]
            print_log(
                f'{len(skipped)} frozen parameters (requires_grad=False, '
                f'e.g. {first}) are not optimised',
                logger='current')
        return optim_wrapper
