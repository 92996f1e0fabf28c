from .embedding_neck import EmbeddingNeck

__all__ = ['EmbeddingNeck']
