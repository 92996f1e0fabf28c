import copy
from typing import Optional

import torch.nn as nn
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapperDict

from gcahng.registry import OPTIM_WRAPPER_CONSTRUCTORS
from .default_constructor import DefaultOptimWrapperConstructor


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class MultiOptimWrapperConstructor:
    """Build an ``OptimWrapperDict`` whose wrappers own named submodules.

    GCA-HNG trains with three optimisers (docs/algorithm.md §6): ``metric``
    (backbone, neck, PA proxies), ``graph`` (the GCL head) and ``cls`` (h₁).
    Each entry of the config is an ordinary optim-wrapper config (``type``,
    ``optimizer``, ``clip_grad``, ``paramwise_cfg``) plus ``modules``, the
    names of the model's children it optimises; ``paramwise_cfg`` keys are
    relative to the model (``'loss_metric.proxies'``), exactly as with a
    single optimiser. Every trainable parameter must belong to exactly one
    wrapper, so a forgotten module is an error here, not a silent freeze::

        optim_wrapper = dict(
            constructor='MultiOptimWrapperConstructor',
            metric=dict(
                modules=('backbone', 'neck', 'loss_metric'),
                optimizer=dict(type='AdamW', lr=1.5e-4, weight_decay=1e-4),
                clip_grad=dict(type='value', clip_value=10.0),
                paramwise_cfg=dict(
                    custom_keys={'loss_metric.proxies': dict(lr_mult=100)})),
            graph=dict(modules=('graph_head', ), ...),
            cls=dict(modules=('classifier', ), ...))

    An entry with ``shares_params=True`` may optimise parameters that
    another entry owns too: GCA-HNG's optional ``gen`` wrapper gives the
    graph head's generation update (``L_gen``) its own optimiser state,
    apart from the ``graph`` wrapper's ``L_gce`` update.

    An entry set to ``None`` is left out, so an inheriting config can drop a
    wrapper whose modules its model lacks (``optim_wrapper = dict(cls=None)``
    for the "Baseline + GNN" ablation, which has no h₁).
    """

    def __init__(self,
                 optim_wrapper_cfg: dict,
                 paramwise_cfg: Optional[dict] = None) -> None:
        if paramwise_cfg:
            raise ValueError(
                'MultiOptimWrapperConstructor: put paramwise_cfg inside each '
                f'wrapper ({list(optim_wrapper_cfg)}), not at the top level')
        self.optim_wrapper_cfg = {
            name: copy.deepcopy(cfg)
            for name, cfg in optim_wrapper_cfg.items() if cfg is not None
        }
        for name, cfg in self.optim_wrapper_cfg.items():
            if not isinstance(cfg, dict) or not cfg.get('modules'):
                raise ValueError(
                    f'MultiOptimWrapperConstructor: optim_wrapper.{name} '
                    'must be a dict with "modules" (the model children it '
                    'optimises) and "optimizer"')

    def __call__(self, model: nn.Module) -> OptimWrapperDict:
        if hasattr(model, 'module'):
            model = model.module
        wrappers, owner = {}, {}
        children = [n for n, _ in model.named_children()]
        for name, cfg in self.optim_wrapper_cfg.items():
            cfg = copy.deepcopy(cfg)
            modules = cfg.pop('modules')
            modules = (modules, ) if isinstance(modules, str) else modules
            paramwise_cfg = cfg.pop('paramwise_cfg', None)
            shares = cfg.pop('shares_params', False)
            cfg.setdefault('type', 'OptimWrapper')
            container = nn.Module()
            for child in modules:
                module = getattr(model, child, None)
                if not isinstance(module, nn.Module):
                    raise ValueError(
                        f'optim_wrapper.{name}.modules names "{child}", '
                        f'which {type(model).__name__} does not have; its '
                        f'children are {children}')
                # MMSeparateDistributedDataParallel wraps every child: its
                # parameters would be named "<child>.module.<name>" and
                # miss the paramwise_cfg keys (the proxies' lr_mult)
                if is_model_wrapper(module):
                    module = module.module
                container.add_module(child, module)
            for pname, p in container.named_parameters():
                if p.requires_grad and not shares:
                    if id(p) in owner:
                        raise ValueError(
                            f'parameter {pname} is in optim_wrapper.'
                            f'{owner[id(p)]} and optim_wrapper.{name}')
                    owner[id(p)] = name
            wrappers[name] = DefaultOptimWrapperConstructor(
                cfg, paramwise_cfg)(
                    container)
        orphans = [
            n for n, p in model.named_parameters()
            if p.requires_grad and id(p) not in owner
        ]
        if orphans:
            raise ValueError(
                'MultiOptimWrapperConstructor: no optim_wrapper entry trains '
                f'{orphans[:5]}{"..." if len(orphans) > 5 else ""}; add their '
                'module to some wrapper\'s "modules"')
        return OptimWrapperDict(**wrappers)
