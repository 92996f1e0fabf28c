from .functional import (as_embeddings, label_ids, nearest_neighbours,
                         per_query_retrieval, precision_at_r,
                         retrieval_metrics)
from .metrics import RetrievalMetric

__all__ = [
    'as_embeddings', 'label_ids', 'nearest_neighbours', 'per_query_retrieval',
    'precision_at_r', 'retrieval_metrics', 'RetrievalMetric'
]
