from mmengine.hooks import Hook
from mmengine.runner import set_random_seed

from gcahng.registry import HOOKS


@HOOKS.register_module()
class EpochReseedHook(Hook):
    """Re-seed every RNG at the start of each epoch from ``seed + epoch``.

    MMEngine seeds python, numpy and torch once, when the Runner is built,
    so a run resumed at epoch ``e`` draws different augmentations, dropout
    masks and CACAI fusion weights than the uninterrupted run did in epoch
    ``e``. Re-seeding per epoch makes a resumed run reproduce the
    uninterrupted one (ranks still differ when ``diff_rank_seed`` is set).
    Does nothing when the config sets no seed.
    """
    priority = 'VERY_HIGH'

    def before_train_epoch(self, runner) -> None:
        randomness = getattr(runner, '_randomness_cfg', None) or {}
        if randomness.get('seed') is None:
            return
        set_random_seed(
            runner.seed + runner.epoch,
            deterministic=randomness.get('deterministic', False),
            diff_rank_seed=randomness.get('diff_rank_seed', False))
