"""One docs/algorithm.md §1 batch over all ranks: gathering with autograd.

In global-batch mode (``model.global_batch=True``, see
``docs/algorithm.md`` §9) the sampler deals one ``N × M`` batch per step
and rank ``r`` loads the ``N_r`` class slots ``[o_r, o_r + N_r)`` of it,
all ``M`` samples of each, in group order (a ``N_r × M`` batch of its own).
:func:`gather_global_batch` exchanges the shares' layouts and labels and
returns a :class:`GlobalBatch`, whose :meth:`GlobalBatch.gather` all-gathers
the embeddings and puts them back in the global group order
(``i = g·N + o_r + n``), so that the graph head, CACAI and every loss run on
the whole batch on every rank.

Gradients: every rank computes the same losses ``L_r`` on the same global
batch. The backward of :meth:`GlobalBatch.gather` sums the incoming
gradients over the ranks (one all-reduce of ``B × D``) and returns each
rank the rows of its own samples, so that after DDP's gradient averaging
every parameter holds ``∇ mean_r L_r``, which is the single-process
gradient when the ranks agree (the same random draws; they do when they
start each epoch from the same seed and the metric model draws no random
numbers).
"""
from typing import List, Sequence, Tuple

import torch
import torch.distributed as dist
from mmengine.dist import get_dist_info

from .batch_layout import group_layout


def distributed_world_size() -> int:
    """The number of ranks of the default process group (1 without one)."""
    return get_dist_info()[1]


def _all_gather(tensor: torch.Tensor) -> List[torch.Tensor]:
    """``dist.all_gather`` of equally shaped tensors."""
    out = [torch.empty_like(tensor) for _ in range(dist.get_world_size())]
    dist.all_gather(out, tensor.contiguous())
    return out


class _GatherShares(torch.autograd.Function):
    """All-gather of the ranks' shares ``[M·N_r, ...]`` into the global
    group order ``[M·N, ...]``; backward: all-reduce (sum) of the gradient,
    then this rank's rows."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, batch: 'GlobalBatch') -> torch.Tensor:
        ctx.batch = batch
        m, cap = batch.num_per_class, max(batch.shares)
        local = x.reshape(m, batch.shares[batch.rank], *x.shape[1:])
        padded = local.new_zeros((m, cap) + local.shape[2:])
        padded[:, :local.size(1)] = local
        parts = [
            part[:, :n] for part, n in zip(_all_gather(padded), batch.shares)
        ]
        return torch.cat(parts, dim=1).reshape(-1, *x.shape[1:])

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        batch = ctx.batch
        grad = grad.contiguous().clone()
        dist.all_reduce(grad)
        return batch.local(grad), None


class GlobalBatch:
    """How one global ``N × M`` batch is split over the ranks.

    Args:
        shares (Sequence[int]): ``N_r``, the class slots of every rank.
        num_per_class (int): ``M``.
        rank (int): This rank.
    """

    def __init__(self, shares: Sequence[int], num_per_class: int,
                 rank: int) -> None:
        self.shares = tuple(int(n) for n in shares)
        self.num_per_class = int(num_per_class)
        self.rank = int(rank)
        self.offset = sum(self.shares[:rank])

    @property
    def num_classes(self) -> int:
        """``N``, the class slots of the global batch."""
        return sum(self.shares)

    @property
    def batch_size(self) -> int:
        """``B = N·M``."""
        return self.num_classes * self.num_per_class

    def gather(self, x: torch.Tensor) -> torch.Tensor:
        """``[M·N_r, ...]`` of this rank -> ``[B, ...]`` in global group
        order, identical on every rank; differentiable (see the module
        docstring)."""
        if x.requires_grad:
            return _GatherShares.apply(x, self)
        with torch.no_grad():
            return _GatherShares.apply(x, self)

    def local(self, x: torch.Tensor) -> torch.Tensor:
        """This rank's rows ``[M·N_r, ...]`` of a global ``[B, ...]``."""
        m, n = self.num_per_class, self.num_classes
        rows = x.reshape(m, n, *x.shape[1:])
        mine = rows[:, self.offset:self.offset + self.shares[self.rank]]
        return mine.reshape(-1, *x.shape[1:])

    def __repr__(self) -> str:
        return (f'GlobalBatch(shares={self.shares}, M={self.num_per_class}, '
                f'rank={self.rank})')


def gather_global_batch(
        labels: torch.Tensor) -> Tuple[GlobalBatch, torch.Tensor]:
    """The :class:`GlobalBatch` of this step and its labels ``[B]``.

    Two small collectives: the shares' layouts ``(N_r, M)`` and their labels
    (the embeddings follow with :meth:`GlobalBatch.gather`).

    Args:
        labels (Tensor): This rank's labels ``[M·N_r]`` in group order, on
            the device of the process group's backend.

    Raises:
        ValueError: if a share is not in group order, the ranks disagree on
            ``M``, or the gathered batch is not in group order (two ranks
            hold the same class: their batches are not shares of one).
    """
    rank = dist.get_rank()
    n_r, m = group_layout(labels.cpu())
    layouts = torch.stack(
        _all_gather(torch.tensor([n_r, m], device=labels.device))).cpu()
    if (layouts[:, 1] != m).any():
        raise ValueError(
            'global batch: the ranks hold shares with different numbers of '
            f'samples per class M: {layouts[:, 1].tolist()}')
    batch = GlobalBatch(layouts[:, 0].tolist(), m, rank)
    global_labels = batch.gather(labels)
    group_layout(global_labels.cpu())  # the whole batch is in group order
    return batch, global_labels
