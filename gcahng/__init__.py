"""gcahng: Globally Correlation-Aware Hard Negative Generation for DML."""
from .utils.safe_globals import register_safe_globals
from .version import __version__

register_safe_globals()

__all__ = ['__version__', 'register_safe_globals']
