"""After a resume, the parameter schedules are the ones the config states.

MMEngine's resume restores each scheduler's state dict, and that holds the
*old* config's schedule (``end``, ``T_max``, ``step_size``, ...): a 1-epoch
run resumed with ``train_cfg.max_epochs=2`` and ``T_max=2`` keeps
``T_max=1``/``end=1`` and its learning rates never move again. This hook,
added by ``tools/train.py --resume``, rebuilds the schedulers from the
current config in ``before_train`` (after the resume), compares them with
the restored ones in the same units (epoch-based schedulers converted to
iterations as MMEngine does), and where any setting differs, takes the
config's schedulers and replays them up to the restored step so the
learning rates are those of an uninterrupted run with the current config.
Each change is logged in one line. With an unchanged config nothing is
touched (the resumed run stays bit-identical).

Only public interfaces are used: the runner's position (``iter``,
``epoch``), ``build_param_scheduler`` and ``param_schedulers``, the
schedulers' ``state_dict`` and ``step``, and the optimisers' param groups
with the ``initial_<param>`` values mmengine's schedulers keep there. The
config's schedulers are built on those initial values, as at the start of
training, and stepped as often as the param-scheduler hook would have.
"""
import copy
from typing import Any, Dict, List

from mmengine.hooks import Hook
from mmengine.logging import print_log

from gcahng.registry import HOOKS

#: Scheduler state that is progress, not configuration.
RUNTIME_KEYS = frozenset({
    'optimizer', 'last_step', '_global_step', 'base_values', '_last_value',
    'verbose', '_get_value_called_within_step', 'cooldown_counter', 'best',
    'num_bad_epochs', 'rule_worse'
})


def _as_named_lists(schedulers: Any) -> Dict[str, List[Any]]:
    if schedulers is None:
        return {}
    if isinstance(schedulers, dict):
        return {str(k): list(v) for k, v in schedulers.items()}
    return {'': list(schedulers)}


def schedule_settings(scheduler: Any) -> Dict[str, Any]:
    """A scheduler's configuration (its state minus its progress)."""
    return {
        k: v
        for k, v in scheduler.state_dict().items() if k not in RUNTIME_KEYS
    }


def schedule_changes(restored: Any, fresh: Any) -> List[str]:
    """``'T_max 1 -> 2'``-style differences of two schedulers' settings."""
    if type(restored) is not type(fresh):
        return [f'type {type(restored).__name__} -> {type(fresh).__name__}']
    old, new = schedule_settings(restored), schedule_settings(fresh)
    changes = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if a != b:
            if hasattr(a, 'elements'):  # Counter (milestones)
                a, b = sorted(a.elements()), sorted(b.elements())
            changes.append(f'{key} {a} -> {b}')
    return changes


def _optimizers(schedulers: List[Any]) -> List[Any]:
    """The distinct optimisers of ``schedulers``, in order."""
    seen: Dict[int, Any] = {}
    for s in schedulers:
        seen.setdefault(id(s.optimizer), s.optimizer)
    return list(seen.values())


def _group_values(optimizers: List[Any]) -> List[List[Dict[str, Any]]]:
    """The optimisers' param-group values (all but the parameters)."""
    return [[{
        k: copy.deepcopy(v)
        for k, v in g.items() if k != 'params'
    } for g in opt.param_groups] for opt in optimizers]


def _set_group_values(optimizers: List[Any],
                      values: List[List[Dict[str, Any]]]) -> None:
    for opt, groups in zip(optimizers, values):
        for group, saved in zip(opt.param_groups, groups):
            group.update(saved)


def _steps_taken(scheduler: Any, runner) -> int:
    """How often the param-scheduler hook has stepped ``scheduler`` by the
    runner's position: once an epoch (``by_epoch``) or once an iteration."""
    return runner.epoch if scheduler.by_epoch else runner.iter


@HOOKS.register_module()
class ScheduleFromConfigHook(Hook):
    """Make resumed parameter schedulers follow the current config.

    ``tools/train.py`` adds it when resuming; it only acts on a resumed
    run. See the module docstring for what and why.
    """
    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        # a resumed run is past its first iteration before training starts
        if runner.iter == 0:
            return
        restored = _as_named_lists(runner.param_schedulers)
        if not restored or runner.cfg.get('param_scheduler') is None:
            return
        optimizers = _optimizers([s for v in restored.values() for s in v])
        saved = _group_values(optimizers)
        fresh = self._build(runner)
        _set_group_values(optimizers, saved)
        changed = {}
        for name, old_list in restored.items():
            new_list = fresh.get(name, [])
            label = f'param_scheduler {name}' if name else 'param_scheduler'
            if len(new_list) != len(old_list):
                print_log(
                    f'resume: {label} has {len(old_list)} schedulers in the '
                    f'checkpoint and {len(new_list)} in the config; keeping '
                    'the checkpoint\'s',
                    'current',
                    level='WARNING')
                continue
            changes = [(i, schedule_changes(o, n))
                       for i, (o, n) in enumerate(zip(old_list, new_list))]
            if not any(c for _, c in changes) or any(
                    getattr(n, 'need_val_args', False) for n in new_list):
                continue
            for i, change in changes:
                if change:
                    print_log(
                        f'resume: {label}[{i}] '
                        f'{type(new_list[i]).__name__} ' + ', '.join(change) +
                        ' (from the config)', 'current')
            changed[name] = True
        if not changed:
            return
        # the config's schedulers, built on the optimisers' initial values
        # (as at the start of training) and stepped as far as the run went;
        # the optimisers of unchanged schedules keep their values
        moved = _optimizers([s for n in changed for s in restored[n]])
        for opt in moved:
            for group in opt.param_groups:
                for key in [k for k in group if k.startswith('initial_')]:
                    group[key[len('initial_'):]] = group[key]
        fresh = self._build(runner)
        kept = [i for i, opt in enumerate(optimizers) if opt not in moved]
        _set_group_values([optimizers[i] for i in kept],
                          [saved[i] for i in kept])
        result = {}
        for name, old_list in restored.items():
            if name in changed:
                self._replay(fresh[name], runner)
                result[name] = fresh[name]
            else:
                result[name] = old_list
        if isinstance(runner.param_schedulers, dict):
            runner.param_schedulers = result
        else:
            runner.param_schedulers = result.get('', [])

    @staticmethod
    def _build(runner) -> Dict[str, List[Any]]:
        """The schedulers of the current config (the runner's public
        builder; building steps them once, as at the start of training)."""
        return _as_named_lists(
            runner.build_param_scheduler(
                copy.deepcopy(runner.cfg.param_scheduler)))

    @staticmethod
    def _replay(schedulers: List[Any], runner) -> None:
        """Step freshly built ``schedulers`` in order, each as often as the
        param-scheduler hook would have by the runner's position."""
        targets = [_steps_taken(s, runner) for s in schedulers]
        for k in range(max(targets, default=0)):
            for s, target in zip(schedulers, targets):
                if k < target:
                    s.step()
