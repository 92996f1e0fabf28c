from .functional import (FlatSearch, as_embeddings, label_ids,
                         nearest_neighbours, per_query_retrieval,
                         precision_at_r, retrieval_metrics)
from .metrics import RetrievalMetric
from .rerankers import (RERANK_ALIASES, AlphaQueryExpansion, BaseReranker,
                        DatabaseAugmentation, KReciprocalReranking,
                        build_reranker)

__all__ = [
    'FlatSearch', 'as_embeddings', 'label_ids', 'nearest_neighbours',
    'per_query_retrieval', 'precision_at_r', 'retrieval_metrics',
    'RetrievalMetric', 'RERANK_ALIASES', 'AlphaQueryExpansion', 'BaseReranker',
    'DatabaseAugmentation', 'KReciprocalReranking', 'build_reranker'
]
