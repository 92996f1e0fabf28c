from .base import BaseNegativeGenerator
from .cacai_generator import CACAIGenerator, PairGeometry
from .hdml_generator import HDMLGenerator

__all__ = [
    'BaseNegativeGenerator', 'CACAIGenerator', 'HDMLGenerator', 'PairGeometry'
]
