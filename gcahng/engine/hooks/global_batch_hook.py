"""Check, before training, that the model and the train dataloader agree on
the global batch (docs/algorithm.md §9)."""
from mmengine.dist import get_world_size
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from gcahng.datasets.samplers import BatchSettingError
from gcahng.registry import HOOKS


@HOOKS.register_module()
class GlobalBatchHook(Hook):
    """With more than one process, refuse to train when the model and the
    data disagree on the global batch.

    ``GlobalBatchSampler`` (the configs' ``train_dataloader.batch_sampler``)
    deals each ``N × M`` batch over the ranks; a model with
    ``global_batch=True`` (the default of ``DMLRetriever`` and ``GCAHNG``)
    gathers the shares back. The two are set in different parts of the
    config, and either alone trains a different algorithm without an
    error: a gathering model on per-rank batches builds one graph over
    ``W`` batches, a non-gathering model on shares trains every rank on a
    share. This hook (in the default runtime's ``default_hooks``) reads
    both before the first iteration and raises
    :class:`~gcahng.datasets.samplers.BatchSettingError` naming the setting
    to change. One process: nothing to check.
    """
    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        if get_world_size() < 2:
            return
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        gathers = getattr(model, 'gathers', False)
        deals = getattr(runner.train_dataloader.batch_sampler,
                        'deals_globally', False)
        if gathers and not deals:
            raise BatchSettingError(
                'model.global_batch=True on several processes gathers one '
                'batch from the ranks, but the train dataloader gives every '
                "rank a batch of its own: set train_dataloader.batch_sampler"
                "=dict(type='GlobalBatchSampler') (as the configs' dataset "
                'bases do), or model.global_batch=False for one graph per '
                'rank')
        if deals and not gathers:
            raise BatchSettingError(
                'the train dataloader deals one batch over the processes '
                '(GlobalBatchSampler), but the model does not gather it '
                f'({type(model).__name__}'
                f'{".global_batch=False" if hasattr(model, "gathers") else ""}'
                '): every rank would train on a share. For one batch per '
                'rank set train_dataloader.batch_sampler=None as well')
