from typing import Tuple

import torch


def group_layout(labels: torch.Tensor) -> Tuple[int, int]:
    """``(N, M)`` of a batch in docs/algorithm.md §1 group order, checked.

    Group ``g`` holds one sample of each of the ``N`` classes in the same
    class order, so ``labels.view(M, N)`` has ``M`` identical rows of ``N``
    distinct labels. ``N`` is where the first label occurs again (or ``B``
    when ``M = 1``).

    Raises:
        ValueError: if the batch is not in that order; the usual cause is a
            dataloader without ``BalancedClassSampler``.
    """
    labels = labels.reshape(-1)
    b = labels.numel()
    repeats = (labels[1:] == labels[0]).nonzero()
    n = int(repeats[0]) + 1 if repeats.numel() else b
    grid = labels.view(b // n, n) if b % n == 0 else None
    if (grid is None or not bool((grid == grid[0]).all())
            or torch.unique(grid[0]).numel() != n):
        raise ValueError(
            'GCA-HNG needs batches of N classes x M samples in group order '
            '(docs/algorithm.md §1: sample i = g*N + n); got labels '
            f'{labels.tolist()[:24]}{"..." if b > 24 else ""}. Use '
            "sampler=dict(type='BalancedClassSampler', ...) with "
            'batch_size = N*M in the train dataloader.')
    return n, b // n
