from .dist import setup_cpu_distributed
from .safe_globals import checkpoint_safe_globals, register_safe_globals

__all__ = [
    'checkpoint_safe_globals', 'setup_cpu_distributed', 'register_safe_globals'
]
