from .dml_retriever import DMLRetriever
from .gcahng import GCAHNG

__all__ = ['DMLRetriever', 'GCAHNG']
