from .functional import as_embeddings, nearest_neighbours, retrieval_metrics
from .metrics import RetrievalMetric

__all__ = [
    'as_embeddings', 'nearest_neighbours', 'retrieval_metrics',
    'RetrievalMetric'
]
