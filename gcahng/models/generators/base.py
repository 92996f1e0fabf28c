"""What :class:`~gcahng.models.retrievers.GCAHNG` needs of a hard-negative
generator (docs/algorithm.md §4, §6)."""
from typing import Dict, Optional, Protocol, Tuple, Union

import torch
from mmengine.model import BaseModule

#: What a generator returns: ``S`` alone, or ``S`` and its own losses.
GeneratorOutput = Union[torch.Tensor, Tuple[torch.Tensor, Dict[str,
                                                               torch.Tensor]]]


class PairGeometryLike(Protocol):
    """What a generator computes from ``z`` alone and lets one iteration
    reuse (for CACAI the pair differences and distances); the retriever
    only detaches it for the ``sg(z)`` pass."""

    def detach(self) -> 'PairGeometryLike':
        ...


class BaseNegativeGenerator(BaseModule):
    """Interface of the hard-negative generators.

    ``forward(z, lambdas, hardness, num_classes, num_per_class, generator=
    None, fusion_weights=None, geometry=None, anchor_grad=True)`` returns
    the synthetic negatives ``S [M, N, N, D]`` of a batch ``z [B, D]`` in
    group order
    (docs/algorithm.md §1), ``S_a[n, m]`` the negative of class ``m`` for
    anchor ``(a, n)``, at the hardness ``η``; a generator with losses of its
    own returns ``(S, losses)``. ``lambdas`` are the graph head's ``λ``
    (``[B, B, D]``; a generator that does not use them accepts None).
    ``anchor_grad=False`` asks for ``S`` differentiable w.r.t. the
    candidates it interpolates towards only (same values), so that a loss
    pushing ``S`` away does not move ``S``'s own anchor.

    :meth:`pair_geometry` is called once per iteration; what it returns is
    passed as ``geometry`` to the forward passes of both stages (detached
    for the generation stage, which works on ``sg(z)``). The default returns
    None: the generator computes everything in ``forward``.
    """

    def pair_geometry(self, z: torch.Tensor, num_classes: int,
                      num_per_class: int) -> Optional[PairGeometryLike]:
        """What ``forward`` can reuse between the two stages of one
        iteration (it depends on ``z`` only); None when nothing is worth
        reusing."""
        return None


__all__ = ['BaseNegativeGenerator', 'GeneratorOutput', 'PairGeometryLike']
