"""gcahng: Globally Correlation-Aware Hard Negative Generation for DML."""
import warnings

# mmcv-lite lacks the compiled deformable attention that mmpretrain's
# imports probe for; nothing here uses it, so its import warning is noise.
warnings.filterwarnings(
    'ignore', message='Fail to import ``MultiScaleDeformableAttention``')

from .utils.safe_globals import register_safe_globals  # noqa: E402
from .version import __version__  # noqa: E402

register_safe_globals()

__all__ = ['__version__', 'register_safe_globals']
