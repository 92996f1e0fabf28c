from .base import BaseNegativeGenerator
from .cacai_generator import CACAIGenerator, MemoryNegatives, PairGeometry
from .hdml_generator import HDMLGenerator

__all__ = [
    'BaseNegativeGenerator', 'CACAIGenerator', 'HDMLGenerator',
    'MemoryNegatives', 'PairGeometry'
]
