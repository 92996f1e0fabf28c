from .cacai_generator import CACAIGenerator
from .hdml_generator import HDMLGenerator

__all__ = ['CACAIGenerator', 'HDMLGenerator']
