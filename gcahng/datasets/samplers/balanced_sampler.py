"""Class-balanced sampler producing the group-ordered batches of
docs/algorithm.md §1."""
import logging
import math
from typing import Dict, Iterator, List, Optional, Sized, Tuple

import numpy as np
from mmengine.dist import get_dist_info, sync_random_seed
from mmengine.logging import print_log
from torch.utils.data import Sampler

from gcahng.registry import DATA_SAMPLERS
from gcahng.utils.cli import UserError


class BatchSettingError(UserError, ValueError):
    """A batch setting of the config that cannot work (N or M, the batch
    size, the number of processes); tools report it in one line."""


def _dataset_labels(dataset: Sized) -> np.ndarray:
    """Class label of every sample of ``dataset``.

    Tried in order: ``dataset.get_gt_labels()``, ``dataset.get_cat_ids(i)``
    (mmpretrain style, first id) and ``dataset.get_data_info(i)['gt_label']``.
    """
    if hasattr(dataset, 'get_gt_labels'):
        labels = dataset.get_gt_labels()
    elif hasattr(dataset, 'get_cat_ids'):
        labels = [dataset.get_cat_ids(i)[0] for i in range(len(dataset))]
    elif hasattr(dataset, 'get_data_info'):
        labels = [
            dataset.get_data_info(i)['gt_label'] for i in range(len(dataset))
        ]
    else:
        raise TypeError(
            f'Cannot read labels from {type(dataset).__name__}: it has none '
            'of get_gt_labels(), get_cat_ids() and get_data_info().')
    labels = np.asarray(labels).reshape(-1)
    if len(labels) != len(dataset):
        raise ValueError(f'Got {len(labels)} labels for a dataset of '
                         f'{len(dataset)} samples.')
    return labels.astype(np.int64)


class _Pool:
    """Cyclic draws without replacement from ``items``.

    Items are dealt from a (shuffled) permutation; when it runs out a fresh
    permutation is drawn. One draw of ``k`` items never repeats an item
    unless ``k > len(items)``, in which case every item appears and the
    rest is filled by sampling with replacement.
    """

    def __init__(self, items: np.ndarray, rng: np.random.Generator,
                 shuffle: bool) -> None:
        self.items = np.asarray(items)
        self.rng = rng
        self.shuffle = shuffle
        self.queue: List[int] = []

    def _refill(self, exclude: List[int]) -> None:
        order = (
            self.rng.permutation(self.items)
            if self.shuffle else self.items.copy())
        if exclude:
            # items already drawn for the current call go to the back, so
            # that they are not repeated within it
            taken = np.isin(order, exclude)
            order = np.concatenate([order[~taken], order[taken]])
        self.queue.extend(order.tolist())

    def draw(self, k: int) -> List[int]:
        n = len(self.items)
        if k > n:
            out = self.draw(n)
            extra = (
                self.rng.choice(self.items, k - n)
                if self.shuffle else np.resize(self.items, k - n))
            return out + extra.tolist()
        out = self.queue[:k]
        del self.queue[:k]
        if len(out) < k:
            self._refill(out)
            rest = k - len(out)
            out += self.queue[:rest]
            del self.queue[:rest]
        return out


def global_batch_share(num_classes: int, rank: int,
                       world_size: int) -> Tuple[int, int]:
    """The class slots ``[first, last)`` of an ``N``-class batch that
    ``rank`` of ``world_size`` loads in global-batch mode: ``N // W`` each,
    one more for the first ``N % W`` ranks (81 = 27 × 3 on 4 ranks: 7, 7,
    7, 6 classes, i.e. 21, 21, 21, 18 images).

    Raises:
        ValueError: if ``W > N`` (a rank would have no sample).
    """
    if world_size > num_classes:
        raise BatchSettingError(
            f'global batch: {world_size} ranks cannot share a batch of '
            f'{num_classes} classes (each rank loads whole classes, so at '
            f'most {num_classes} ranks); use fewer processes, a larger N '
            '(num_classes_per_batch), or a local batch per rank: '
            'model.global_batch=False train_dataloader.batch_sampler=None')
    base, extra = divmod(num_classes, world_size)
    first = rank * base + min(rank, extra)
    return first, first + base + (rank < extra)


@DATA_SAMPLERS.register_module()
class BalancedClassSampler(Sampler):
    """Class-balanced sampler for deep metric learning (docs/algorithm.md §1).

    Every batch of ``B = N * M`` consecutive indices holds ``N`` distinct
    classes with ``M`` samples each, arranged in **groups**: group
    ``g in [0, M)`` holds one sample of each of the ``N`` classes, in the
    same class order in every group, so sample ``i = g * N + n`` belongs to
    class slot ``n``. Reshaping the batch labels to ``[M, N]`` gives ``M``
    identical rows of ``N`` distinct labels. The dataloader must use
    ``batch_size = N * M`` (and the default ``drop_last=False`` is harmless:
    the stream length is a multiple of ``B``).

    Classes are dealt from a shuffled permutation without replacement and
    reshuffled when exhausted, so every class appears about equally often
    in an epoch; within a class, samples are likewise drawn without
    replacement where possible. A class with fewer than ``M`` samples
    contributes all of them and is topped up by sampling with replacement.

    An epoch has ``max(1, len(dataset) // B)`` batches in total, about one
    pass over the data. In distributed training the batches of all ranks
    are generated from one random stream seeded by ``seed + epoch``, and
    rank ``r`` takes batches ``r, r + W, r + 2W, ...`` (``W`` the world
    size): ranks see different batches and all have the same number,
    ``ceil(total / W)`` with ``round_up=True`` or ``max(1, total // W)``
    with ``round_up=False``.

    With ``global_batch=True`` (global-batch mode, ``docs/algorithm.md``
    §9) the ranks share every batch instead: an epoch has ``total``
    batches whatever ``W`` is, and rank ``r`` yields, for each of them, the
    class slots ``[o_r, o_r + N_r)`` with all their ``M`` samples, in group
    order (``N_r = N // W``, one more for the first ``N % W`` ranks), i.e.
    ``M·N_r`` indices per batch. :class:`GlobalBatchSampler` cuts that
    stream into the shares; the model gathers them back into the ``N × M``
    batch (``gcahng.models.utils.gather_global_batch``). ``W > N`` is an
    error: every rank needs a class slot.

    Labels are read once, at construction, from ``dataset.get_gt_labels()``,
    else ``dataset.get_cat_ids(i)``, else
    ``dataset.get_data_info(i)['gt_label']``.

    Args:
        dataset (Sized): The dataset.
        num_classes_per_batch (int): ``N``, distinct classes per batch.
        num_samples_per_class (int): ``M``, samples per class and batch.
        shuffle (bool): Randomise classes and samples. If False the classes
            and their samples are dealt in dataset order. Defaults to True.
        seed (int, optional): Random seed, identical on all ranks. If None,
            a random seed is drawn and synchronised across ranks with
            :func:`mmengine.dist.sync_random_seed`. Defaults to None.
        round_up (bool): Round the number of batches per rank up (True) or
            down (False) when the total is not divisible by the world size.
            Defaults to True. Unused with ``global_batch=True``.
        global_batch (bool): Deal each batch over all ranks (see above)
            instead of giving every rank batches of its own. Defaults to
            False; :class:`GlobalBatchSampler` (the train dataloaders'
            ``batch_sampler`` in the configs) switches it on when there is
            more than one process.
    """

    def __init__(self,
                 dataset: Sized,
                 num_classes_per_batch: int,
                 num_samples_per_class: int,
                 shuffle: bool = True,
                 seed: Optional[int] = None,
                 round_up: bool = True,
                 global_batch: bool = False) -> None:
        if num_classes_per_batch < 1 or num_samples_per_class < 1:
            raise BatchSettingError(
                'num_classes_per_batch and num_samples_per_class must be '
                f'positive, got {num_classes_per_batch} and '
                f'{num_samples_per_class}')
        rank, world_size = get_dist_info()
        self.rank = rank
        self.world_size = world_size

        self.dataset = dataset
        self.num_classes_per_batch = num_classes_per_batch
        self.num_samples_per_class = num_samples_per_class
        self.batch_size = num_classes_per_batch * num_samples_per_class
        self.shuffle = shuffle
        if seed is None:
            seed = sync_random_seed()
        self.seed = seed
        self.epoch = 0
        self.round_up = round_up

        labels = _dataset_labels(dataset)
        self.classes = np.unique(labels)
        if len(self.classes) < num_classes_per_batch:
            raise BatchSettingError(
                f'The dataset has {len(self.classes)} classes, fewer than '
                f'num_classes_per_batch={num_classes_per_batch}.')
        self.class_indices: Dict[int, np.ndarray] = {
            int(c): np.flatnonzero(labels == c)
            for c in self.classes
        }
        sizes = [len(v) for v in self.class_indices.values()]
        small = [k for k in sizes if k < num_samples_per_class]
        if small:
            print_log(
                f'BalancedClassSampler: {len(small)} of {len(sizes)} classes '
                f'have fewer than M={num_samples_per_class} samples (the '
                f'smallest {min(small)}); their samples are repeated in a '
                'batch (drawn with replacement).',
                logger='current',
                level=logging.WARNING)

        self.total_batches = max(1, len(dataset) // self.batch_size)
        self._set_dealing(global_batch)

    def _set_dealing(self, global_batch: bool) -> None:
        """Per-rank batches or, with ``global_batch``, this rank's class
        slots of every batch; sets the epoch's length to match."""
        self.global_batch = global_batch
        self.share = global_batch_share(self.num_classes_per_batch, self.rank,
                                        self.world_size if global_batch else 1)
        total = self.total_batches
        if global_batch:
            self.num_batches = total
        elif self.round_up:
            self.num_batches = math.ceil(total / self.world_size)
        else:
            self.num_batches = max(1, total // self.world_size)
        share_size = (self.share[1] - self.share[0]) * \
            self.num_samples_per_class
        self.num_samples = self.num_batches * share_size

    def deal_globally(self) -> None:
        """Switch to global-batch dealing (what :class:`GlobalBatchSampler`
        does on several processes); call before iterating."""
        self._set_dealing(True)

    def _batch(self, class_pool: _Pool,
               sample_pools: Dict[int, _Pool]) -> np.ndarray:
        """One batch in group order."""
        classes = class_pool.draw(self.num_classes_per_batch)
        # [N, M] -> [M, N] -> flat: index g * N + n is sample g of class n
        samples = np.array([
            sample_pools[c].draw(self.num_samples_per_class) for c in classes
        ])
        return samples.T.reshape(-1)

    def __iter__(self) -> Iterator[int]:
        """Iterate the indices of this rank's batches."""
        rng = np.random.default_rng(self.seed + self.epoch)
        class_pool = _Pool(self.classes, rng, self.shuffle)
        sample_pools = {
            c: _Pool(idx, rng, self.shuffle)
            for c, idx in self.class_indices.items()
        }
        indices = []
        if self.global_batch:
            first, last = self.share
            for _ in range(self.num_batches):
                batch = self._batch(class_pool, sample_pools)
                grid = batch.reshape(self.num_samples_per_class, -1)
                indices.append(grid[:, first:last].reshape(-1))
            return iter(np.concatenate(indices).tolist())
        for b in range(self.num_batches * self.world_size):
            batch = self._batch(class_pool, sample_pools)
            if b % self.world_size == self.rank:
                indices.append(batch)
        return iter(np.concatenate(indices).tolist())

    def __len__(self) -> int:
        """The number of indices of this rank."""
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch: with ``shuffle=True`` each epoch gets its own
        classes and samples.

        Args:
            epoch (int): Epoch number.
        """
        self.epoch = epoch
