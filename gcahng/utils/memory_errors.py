"""The memory of past embeddings' user errors (docs/algorithm.md §10): here,
below ``models/``, so that the checkpoint fit check can raise them too."""
from .cli import UserError


class MemorySettingError(UserError, ValueError):
    """A ``model.memory`` setting that cannot work (a user error)."""


def memory_size_error(stored: int, size: int) -> MemorySettingError:
    """The error for a checkpoint whose memory holds ``stored`` entries
    loaded into a model whose memory holds ``size``."""
    return MemorySettingError(
        f"the checkpoint's memory holds {stored} entries, the model's "
        f'model.memory.size={size}; set model.memory.size={stored}, or '
        'model.memory=None to drop it')
