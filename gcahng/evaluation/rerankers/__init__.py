"""Training-free re-ranking of the exact cosine search: α-QE, α-DBA and
k-reciprocal re-ranking (docs/reranking.md)."""
from .alpha_query_expansion import AlphaQueryExpansion
from .base import RERANK_ALIASES, BaseReranker, PreparedGallery, build_reranker
from .database_augmentation import DatabaseAugmentation
from .k_reciprocal import KReciprocalReranking

__all__ = [
    'AlphaQueryExpansion', 'BaseReranker', 'DatabaseAugmentation',
    'KReciprocalReranking', 'PreparedGallery', 'RERANK_ALIASES',
    'build_reranker'
]
