"""A FIFO memory of past embeddings (docs/algorithm.md §10, beyond the
paper): what lets the graph head, CACAI and the metric loss see earlier
mini-batches."""
import numbers
from typing import Any, NamedTuple, Optional

import torch
import torch.nn as nn

from gcahng.utils.memory_errors import MemorySettingError, memory_size_error


def check_memory_size(size: Any) -> int:
    """``K`` as an int; refuses a negative, fractional or non-numeric
    size with :class:`MemorySettingError`."""
    if isinstance(size, bool) or not isinstance(size, numbers.Real):
        raise MemorySettingError(
            f'model.memory.size must be a whole number >= 0, got {size!r}')
    if size < 0 or int(size) != size:
        raise MemorySettingError(
            f'model.memory.size must be a whole number >= 0, got {size!r}')
    return int(size)


class MemoryView(NamedTuple):
    """The valid entries of an :class:`EmbeddingMemory`, oldest first
    (copies: the memory may change while a loss still holds them).

    Attributes:
        feats (Tensor): ``[K', D]`` embeddings, detached.
        labels (Tensor): ``[K']`` class ids.
        iters (Tensor): ``[K']`` the iteration each entry came from.
        nodes (Tensor, optional): ``[K', D]`` the graph head's node states
            stored with them (``store_nodes=True``), else None.
    """
    feats: torch.Tensor
    labels: torch.Tensor
    iters: torch.Tensor
    nodes: Optional[torch.Tensor] = None

    @property
    def num_entries(self) -> int:
        """``K'``, the entries in the view."""
        return self.feats.size(0)

    def map_feats(self, fn) -> 'MemoryView':
        """The same view with ``fn`` applied to the embeddings."""
        return self._replace(feats=fn(self.feats))


class EmbeddingMemory(nn.Module):
    """A FIFO queue of the last ``size`` embeddings with their labels and
    iterations (XBM, Wang et al., CVPR 2020), kept as buffers so that
    checkpoints hold it and a resumed run continues with the same memory.

    Args:
        size (int): ``K`` (> 0).
        dim (int): ``D``.
        store_nodes (bool): Also keep a ``[K, D]`` node state per entry.
    """

    def __init__(self, size: int, dim: int, store_nodes: bool = False) -> None:
        super().__init__()
        size = check_memory_size(size)
        if size == 0:
            raise MemorySettingError('EmbeddingMemory needs size > 0')
        self.size = size
        self.dim = dim
        self.store_nodes = store_nodes
        self.register_buffer('feats', torch.zeros(size, dim))
        self.register_buffer('labels',
                             torch.full((size, ), -1, dtype=torch.long))
        self.register_buffer('iters', torch.full((size, ),
                                                 -1,
                                                 dtype=torch.long))
        if store_nodes:
            self.register_buffer('nodes', torch.zeros(size, dim))
        self.register_buffer('ptr', torch.zeros((), dtype=torch.long))
        self.register_buffer('count', torch.zeros((), dtype=torch.long))
        # training steps enqueued so far (the memory's clock: start_iter)
        self.register_buffer('step', torch.zeros((), dtype=torch.long))
        self._register_load_state_dict_pre_hook(self._check_loaded_size)

    def _check_loaded_size(self, state_dict: dict, prefix: str, *args:
                           Any) -> None:
        """A checkpoint's memory must have this memory's ``K``; one without
        memory entries (a model trained without memory) starts empty."""
        key = prefix + 'feats'
        if key not in state_dict:
            for name, buf in self.named_buffers():
                state_dict.setdefault(prefix + name, buf.clone())
            return
        stored = state_dict[key].shape[0]
        if stored != self.size:
            raise memory_size_error(stored, self.size)
        if self.store_nodes and prefix + 'nodes' not in state_dict:
            state_dict[prefix + 'nodes'] = self.nodes.clone()
        if not self.store_nodes:
            state_dict.pop(prefix + 'nodes', None)

    def __len__(self) -> int:
        return int(self.count)

    @torch.no_grad()
    def enqueue(self,
                feats: torch.Tensor,
                labels: torch.Tensor,
                iteration: Optional[int] = None,
                nodes: Optional[torch.Tensor] = None) -> None:
        """Append a batch (detached), dropping the oldest entries when
        full. A batch larger than ``K`` keeps its last ``K`` rows.
        ``iteration`` (default: :attr:`step`) is recorded with the entries;
        :attr:`step` counts the calls."""
        if iteration is None:
            iteration = int(self.step)
        self.step.add_(1)
        feats = feats.detach().reshape(-1, self.dim)
        labels = labels.detach().reshape(-1)
        if nodes is not None:
            nodes = nodes.detach().reshape(-1, self.dim)
        if feats.size(0) > self.size:
            feats, labels = feats[-self.size:], labels[-self.size:]
            if nodes is not None:
                nodes = nodes[-self.size:]
        b = feats.size(0)
        if b == 0:
            return
        idx = (self.ptr + torch.arange(b, device=self.feats.device)) % \
            self.size
        self.feats.index_copy_(0, idx, feats.to(self.feats))
        self.labels.index_copy_(0, idx, labels.to(self.labels))
        self.iters.index_fill_(0, idx, int(iteration))
        if self.store_nodes:
            if nodes is None:
                raise ValueError('EmbeddingMemory(store_nodes=True): enqueue '
                                 'needs the node states')
            self.nodes.index_copy_(0, idx, nodes.to(self.nodes))
        self.ptr.copy_((self.ptr + b) % self.size)
        self.count.copy_(torch.clamp(self.count + b, max=self.size))

    def order(self) -> torch.Tensor:
        """Indices of the valid entries, oldest first."""
        count = int(self.count)
        start = (int(self.ptr) - count) % self.size
        return (start + torch.arange(count, device=self.feats.device)) % \
            self.size

    def view(self) -> MemoryView:
        """The valid entries, oldest first (copies)."""
        idx = self.order()
        return MemoryView(
            self.feats.index_select(0, idx), self.labels.index_select(0, idx),
            self.iters.index_select(0, idx),
            self.nodes.index_select(0, idx) if self.store_nodes else None)

    def extra_repr(self) -> str:
        return (f'size={self.size}, dim={self.dim}, '
                f'store_nodes={self.store_nodes}')


class MemorySettings(NamedTuple):
    """``model.memory`` (docs/algorithm.md §10), checked.

    Attributes:
        size (int): ``K``, the entries kept (0: no memory).
        start_iter (int): Training steps before the memory is used (it is
            filled from the first step on).
        mining (bool): The metric loss ``L_m`` also sees the memory's
            embeddings (cross-batch memory, XBM).
        graph (bool): The memory entries are source nodes of the graph head
            and candidates of extra synthetic negatives (GCA-HNG only).
        topk (int, optional): Each anchor's memory candidates: its ``topk``
            nearest other-class entries; None: all.
        store_nodes (bool): Memory nodes keep the graph head's node state
            of the step that stored them (stale) instead of
            ``Linear_in(z_k)`` with the current head.
        syn (bool): With ``graph``, the memory's synthetic negatives are
            also negatives of ``L_syn`` (the metric stage). False: they
            train the generation stage (``L_gen``) only, and the memory
            reaches the metric model through the graph head alone (its
            node states and ``λ``; an ablation, docs/algorithm.md §10).
    """
    size: int = 0
    start_iter: int = 0
    mining: bool = False
    graph: bool = True
    topk: Optional[int] = None
    store_nodes: bool = False
    syn: bool = True


def memory_settings(memory: Optional[dict]) -> Optional[MemorySettings]:
    """``model.memory`` as :class:`MemorySettings`; None when it is off
    (None, or ``size=0``).

    Raises:
        MemorySettingError: an unknown key, a negative or fractional size,
            a bad ``start_iter`` or ``topk``, or a memory that would do
            nothing (``graph`` and ``mining`` both False).
    """
    if memory is None:
        return None
    if not isinstance(memory, dict):
        raise MemorySettingError('model.memory must be a dict '
                                 f'(size=K, ...) or None, got {memory!r}')
    unknown = set(memory) - set(MemorySettings._fields)
    if unknown:
        raise MemorySettingError(
            f'model.memory: unknown setting(s) {sorted(unknown)}; known: '
            f'{list(MemorySettings._fields)}')
    settings = MemorySettings(**memory)
    size = check_memory_size(settings.size)
    if size == 0:
        return None
    start = settings.start_iter
    if isinstance(start, bool) or not isinstance(start, int) or start < 0:
        raise MemorySettingError('model.memory.start_iter must be an int '
                                 f'>= 0, got {start!r}')
    topk = settings.topk
    if topk is not None and (isinstance(topk, bool)
                             or not isinstance(topk, int) or topk < 1):
        raise MemorySettingError('model.memory.topk must be None or an int '
                                 f'>= 1, got {topk!r}')
    if not (settings.graph or settings.mining):
        raise MemorySettingError(
            'model.memory: graph=False and mining=False, the memory would '
            'not be used; switch one on or set model.memory=None')
    return settings._replace(size=size)


__all__ = [
    'MemorySettings', 'memory_settings', 'EmbeddingMemory',
    'MemorySettingError', 'MemoryView', 'check_memory_size',
    'memory_size_error'
]
