"""A config's component types and arguments, checked before anything is
built.

mmengine reports a misspelt ``type`` as a ``KeyError`` and an unknown
argument as a ``TypeError``, raised from deep inside the build, where they
look like any bug's. :func:`check_config` walks the config first and raises
:class:`ConfigError` (a :class:`~gcahng.utils.cli.UserError`) naming the
config key, so the tools recognise a user's mistake by its type and print
it in one line, while a ``KeyError`` or ``TypeError`` from our own code
still shows its traceback.

What is checked, where mmengine builds an object straight from its dict
(:data:`SLOTS`: ``model`` and its direct parts, datasets, transforms,
samplers, evaluators' metrics, hooks, parameter schedulers, optimizers,
visualizers, loops):

- its ``type`` is registered in the registry that slot is built from (ours,
  then mmpretrain's, then mmengine's), with close names suggested;
- its keys are parameters of the class's constructor or of a base class's
  it forwards ``**kwargs`` to (:func:`accepted_arguments`). A constructor
  whose ``**kwargs`` reach no base that lists them is not checked: its
  keys cannot be known.

Typed dicts elsewhere are read by their parent (``norm_cfg``, ``init_cfg``,
a ``clip_grad``'s ``type='value'``) and are left to it: a mistake there
still raises mmengine's error, with its traceback.

This is a check of the config's shape, not a build: it imports the
components' modules but constructs nothing.
"""
import difflib
import inspect
from typing import Any, Dict, Iterable, Iterator, Optional, Set, Tuple

from mmengine import registry as mme
from mmengine.config import Config

from gcahng import registry as ours
from .cli import UserError


class ConfigError(UserError, ValueError):
    """A config names a type that is not registered or gives a component an
    argument it does not take."""


def _registries() -> Dict[str, Any]:
    regs = {n: r for n, r in vars(ours).items() if isinstance(r, mme.Registry)}
    regs['FUNCTIONS'] = mme.FUNCTIONS
    return regs


#: Where an object is built straight from its dict: (dotted path pattern,
#: registry, whether its keys are its arguments), first match wins. In a
#: pattern ``*`` is any one key (``*_x``: any key ending in ``_x``) and ``#``
#: a list item. A registry of ``''`` and typed dicts elsewhere (``norm_cfg``,
#: ``init_cfg``, a ``clip_grad``'s ``type='value'``): read by their parent,
#: not checked.
SLOTS: Tuple[Tuple[str, str, bool], ...] = (
    ('model', 'MODELS', True),
    ('model.*_cfg', '', False),  # read by the model itself
    ('model.*', 'MODELS', True),
    ('*_dataloader.dataset', 'DATASETS', True),
    ('*_dataloader.dataset.pipeline.#', 'TRANSFORMS', True),
    ('*_dataloader.sampler', 'DATA_SAMPLERS', True),
    ('*_dataloader.batch_sampler', 'DATA_SAMPLERS', True),
    ('*_dataloader.collate_fn', 'FUNCTIONS', True),
    ('*_evaluator', 'METRICS', True),
    ('*_evaluator.#', 'METRICS', True),
    ('default_hooks.*', 'HOOKS', True),
    ('custom_hooks.#', 'HOOKS', True),
    ('param_scheduler', 'PARAM_SCHEDULERS', True),
    ('param_scheduler.#', 'PARAM_SCHEDULERS', True),
    ('param_scheduler.*.#', 'PARAM_SCHEDULERS', True),
    ('visualizer', 'VISUALIZERS', True),
    ('visualizer.vis_backends.#', 'VISBACKENDS', True),
    ('log_processor', 'LOG_PROCESSORS', True),
    ('train_cfg', 'LOOPS', False),
    ('val_cfg', 'LOOPS', False),
    ('test_cfg', 'LOOPS', False),
    ('optim_wrapper.clip_grad', '', False),  # OptimWrapper's own
    ('optim_wrapper.optimizer', 'OPTIMIZERS', True),
    ('optim_wrapper.*.clip_grad', '', False),
    ('optim_wrapper.*.optimizer', 'OPTIMIZERS', True),
    # an optim wrapper's dict also holds its constructor's keys
    ('optim_wrapper', 'OPTIM_WRAPPERS', False),
    ('optim_wrapper.*', 'OPTIM_WRAPPERS', False),
)


def _match(pattern: str, path: str) -> bool:
    """Whether the dotted ``path`` matches ``pattern``."""
    want, have = pattern.split('.'), path.split('.')
    if len(want) != len(have):
        return False
    for w, h in zip(want, have):
        if w == '#':
            if not h.isdigit():
                return False
        elif w == '*':
            continue
        elif w.startswith('*'):
            if not h.endswith(w[1:]):
                return False
        elif w != h:
            return False
    return True


def _slot(path: str) -> Optional[Tuple[str, bool]]:
    for pattern, registry, args in SLOTS:
        if _match(pattern, path):
            return (registry, args) if registry else None
    return None


def _typed_dicts(node: Any, path: str) -> Iterator[Tuple[str, dict]]:
    """Every ``(dotted path, dict)`` under ``node`` whose dict has a
    ``type``, outermost first."""
    if isinstance(node, dict):
        if 'type' in node:
            yield path, node
        for key, value in node.items():
            yield from _typed_dicts(value, f'{path}.{key}' if path else key)
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _typed_dicts(value, f'{path}.{i}')


def _numbered(path: str) -> str:
    """``a.0.b`` -> ``a[0].b``, as a user writes it."""
    parts = path.split('.')
    out = parts[0]
    for part in parts[1:]:
        out += f'[{part}]' if part.isdigit() else f'.{part}'
    return out


def accepted_arguments(obj: Any) -> Optional[Set[str]]:
    """The keyword arguments a class (or function) built from a config
    takes, following ``**kwargs`` into base classes' constructors; None
    when they cannot be known."""
    functions = [
        vars(k)['__init__'] for k in obj.__mro__ if '__init__' in vars(k)
    ] if inspect.isclass(obj) else [obj]
    names: Set[str] = set()
    for function in functions:
        if function is object.__init__:
            return None  # **kwargs that reach object.__init__: unknown
        try:
            params = inspect.signature(function).parameters
        except (TypeError, ValueError):
            return None
        names |= {
            n
            for n, p in params.items()
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        }
        if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
            return names - {'self'}
    return None


def unknown_arguments(obj: Any, keys: Iterable[str]) -> Optional[str]:
    """``"Cls takes no argument 'x' (it takes: ...)"`` when ``keys`` (a
    config dict's, ``type`` aside) hold a name ``obj`` does not take; None
    when all fit or its arguments cannot be known
    (:func:`accepted_arguments`)."""
    accepted = accepted_arguments(obj)
    if accepted is None:
        return None
    unknown = sorted(k for k in keys if k != 'type' and k not in accepted)
    if not unknown:
        return None
    name = getattr(obj, '__name__', repr(obj))
    return (f'{name} takes no argument {", ".join(map(repr, unknown))} '
            f'(it takes: {", ".join(sorted(accepted)) or "none"})')


def _unknown_type(path: str, type_: str, registry: Any) -> ConfigError:
    names: Set[str] = set()
    reg = registry
    while reg is not None:  # ours, mmpretrain's, mmengine's
        names.update(reg.module_dict)
        reg = reg.parent
    close = difflib.get_close_matches(type_, sorted(names), n=3)
    hint = f'; did you mean {" or ".join(map(repr, close))}?' if close else ''
    return ConfigError(f'config key {_numbered(path)}.type: {type_!r} is not '
                       f'in the {registry.name} registry{hint}')


def check_config(cfg: Config) -> None:
    """Raise :class:`ConfigError` where the config names an unregistered
    type or gives a component an argument it does not take (see the module
    docstring for what is checked)."""
    regs = _registries()
    for path, node in _typed_dicts(cfg.to_dict(), ''):
        type_ = node['type']
        slot = _slot(path)
        if slot is None:
            continue  # read by its parent, or not a component at all
        registry, check_args = slot
        if isinstance(type_, str):
            obj = regs[registry].get(type_)
            if obj is None:
                raise _unknown_type(path, type_, regs[registry])
        elif callable(type_):
            obj = type_
        else:
            continue
        if not check_args:
            continue
        problem = unknown_arguments(obj, node)
        if problem:
            raise ConfigError(f'config key {_numbered(path)}: {problem}')
