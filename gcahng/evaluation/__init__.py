from .functional import retrieval_metrics
from .metrics import RetrievalMetric

__all__ = ['retrieval_metrics', 'RetrievalMetric']
