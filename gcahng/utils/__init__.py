from .amp import enable_amp
from .checkpoint_fit import (OPTIONAL_PREFIXES, CheckpointMismatchError,
                             check_checkpoint_fits)
from .cli import (UserError, add_runner_args, apply_runner_args, is_user_error,
                  parse_runner_args, run_tool)
from .config_check import ConfigError, check_config
from .dist import setup_cpu_distributed, teardown_distributed
from .safe_globals import (UnsafeCheckpointError, checkpoint_safe_globals,
                           register_safe_globals, safe_torch_load)

__all__ = [
    'CheckpointMismatchError', 'OPTIONAL_PREFIXES', 'check_checkpoint_fits',
    'UnsafeCheckpointError', 'checkpoint_safe_globals', 'safe_torch_load',
    'enable_amp', 'setup_cpu_distributed', 'register_safe_globals',
    'teardown_distributed', 'UserError', 'is_user_error', 'run_tool',
    'add_runner_args', 'apply_runner_args', 'parse_runner_args', 'ConfigError',
    'check_config'
]
