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
"""
import copy
from typing import Any, Dict, List, Tuple

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


def _optimizer_state(schedulers: List[Any]) -> List[Tuple[Any, Any, list]]:
    """Param-group values and step counters of the schedulers' optimisers,
    so that building fresh schedulers leaves them as they were."""
    seen, state = set(), []
    for s in schedulers:
        opt = s.optimizer
        if id(opt) in seen:
            continue
        seen.add(id(opt))
        groups = [{
            k: copy.deepcopy(v)
            for k, v in g.items() if k != 'params'
        } for g in opt.param_groups]
        state.append((opt, getattr(opt, '_global_step', None), groups))
    return state


def _restore_optimizer_state(state: List[Tuple[Any, Any, list]]) -> None:
    for opt, step, groups in state:
        for group, saved in zip(opt.param_groups, groups):
            group.update(saved)
        if step is not None:
            opt._global_step = step


@HOOKS.register_module()
class ScheduleFromConfigHook(Hook):
    """Make resumed parameter schedulers follow the current config.

    ``tools/train.py`` adds it when resuming; it only acts on a resumed
    run. See the module docstring for what and why.
    """
    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        if not getattr(runner, '_resume', False) or not getattr(
                runner, '_has_loaded', False):
            return
        restored = _as_named_lists(runner.param_schedulers)
        if not restored or runner.cfg.get('param_scheduler') is None:
            return
        all_old = [s for lst in restored.values() for s in lst]
        saved = _optimizer_state(all_old)
        fresh = _as_named_lists(
            runner.build_param_scheduler(
                copy.deepcopy(runner.cfg.param_scheduler)))
        _restore_optimizer_state(saved)
        result = {}
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
                result[name] = old_list
                continue
            changes = [(i, schedule_changes(o, n))
                       for i, (o, n) in enumerate(zip(old_list, new_list))]
            if not any(c for _, c in changes) or any(
                    getattr(n, 'need_val_args', False) for n in new_list):
                result[name] = old_list
                continue
            for i, change in changes:
                if change:
                    print_log(
                        f'resume: {label}[{i}] '
                        f'{type(new_list[i]).__name__} ' + ', '.join(change) +
                        ' (from the config)', 'current')
            self._replay(old_list, new_list)
            result[name] = new_list
        if isinstance(runner.param_schedulers, dict):
            runner.param_schedulers = result
        else:
            runner.param_schedulers = result.get('', [])

    @staticmethod
    def _replay(old_list: List[Any], new_list: List[Any]) -> None:
        """Reset the optimiser's values to the schedule's start and step the
        config's schedulers as far as the restored ones had gone."""
        param = new_list[0].param_name
        opt = new_list[0].optimizer
        for group, base in zip(opt.param_groups, new_list[0].base_values):
            group[param] = base
        for s in new_list:  # redo the construction step on the reset values
            s._global_step, s.last_step = -1, -1
        step = getattr(opt, '_global_step', None)
        for s in new_list:
            s.step()
        target = max(o._global_step for o in old_list)
        for k in range(1, target + 1):
            for o, n in zip(old_list, new_list):
                if n._global_step < o._global_step:
                    n.step()
        if step is not None:
            opt._global_step = step
