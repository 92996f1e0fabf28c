"""Global-batch mode on the data side: every rank loads its share of one
``N × M`` batch per step (``docs/algorithm.md`` §9)."""
from itertools import islice
from typing import Iterator, List

from torch.utils.data import Sampler

from gcahng.registry import DATA_SAMPLERS
from .balanced_sampler import BalancedClassSampler, BatchSettingError


@DATA_SAMPLERS.register_module()
class GlobalBatchSampler(Sampler):
    """The train dataloaders' batch sampler: one ``N × M`` batch per step,
    split over the processes.

    Named in the configs (``train_dataloader.batch_sampler``), so that any
    Runner built from a config, ``tools/train.py``'s or a user's own, gets
    the same dealing. In one process it yields the
    :class:`BalancedClassSampler`'s ``N × M`` batches, exactly as a plain
    batch sampler would. With ``W > 1`` processes it switches the sampler to
    global-batch dealing (:meth:`BalancedClassSampler.deal_globally`) and
    yields this rank's share of each batch (``M·N_r`` indices, group
    order); the model gathers the shares back into the batch
    (``model.global_batch``, default True). ``len`` is the number of global
    batches per epoch, the same on every rank and in one process.
    ``GlobalBatchHook`` checks at the start of training that the model
    gathers exactly when this sampler deals globally.

    Args:
        sampler (BalancedClassSampler): The index sampler.
        batch_size (int): The (global) batch, ``N × M``.
        drop_last (bool): Unused (every batch is complete).
    """

    def __init__(self,
                 sampler: BalancedClassSampler,
                 batch_size: int,
                 drop_last: bool = False) -> None:
        if not isinstance(sampler, BalancedClassSampler):
            raise TypeError('GlobalBatchSampler needs BalancedClassSampler as '
                            f'the sampler, got {type(sampler).__name__}')
        n, m = sampler.num_classes_per_batch, sampler.num_samples_per_class
        if batch_size != n * m:
            raise BatchSettingError(
                f'train_dataloader.batch_size={batch_size}, but the sampler '
                f'deals N x M = {n} x {m} = {n * m}: batch_size is the '
                '(global) batch N x M, split over the processes')
        if sampler.world_size > 1:
            sampler.deal_globally()
        self.sampler = sampler
        self.batch_size = batch_size
        first, last = sampler.share
        self.share_size = (last - first) * m

    @property
    def deals_globally(self) -> bool:
        """Whether the ranks load shares of one batch (``W > 1``)."""
        return self.sampler.global_batch and self.sampler.world_size > 1

    def __iter__(self) -> Iterator[List[int]]:
        indices = iter(self.sampler)
        for _ in range(len(self)):
            yield list(islice(indices, self.share_size))

    def __len__(self) -> int:
        return self.sampler.num_batches
