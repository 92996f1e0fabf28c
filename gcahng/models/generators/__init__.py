from .cacai_generator import CACAIGenerator

__all__ = ['CACAIGenerator']
