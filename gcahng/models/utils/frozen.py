from contextlib import contextmanager
from typing import Iterator

import torch.nn as nn


@contextmanager
def frozen_parameters(module: nn.Module) -> Iterator[nn.Module]:
    """Within the context ``module``'s parameters do not require grad.

    Autograd records at forward time which tensors need gradients, so a
    forward pass run inside the context back-propagates into its inputs but
    leaves the parameters' ``.grad`` untouched, even when ``backward`` runs
    after the context has exited. The ``requires_grad`` flags are restored
    on exit.
    """
    flags = [(p, p.requires_grad) for p in module.parameters()]
    for p, _ in flags:
        p.requires_grad_(False)
    try:
        yield module
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)
