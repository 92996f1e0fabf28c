from .amp import enable_amp
from .dist import setup_cpu_distributed, teardown_distributed
from .safe_globals import checkpoint_safe_globals, register_safe_globals

__all__ = [
    'checkpoint_safe_globals', 'enable_amp', 'setup_cpu_distributed',
    'register_safe_globals', 'teardown_distributed'
]
