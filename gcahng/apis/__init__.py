"""Using a trained model: image search, gallery indices, the inference
model (README, "Use a trained model")."""
from .embedding_model import EmbeddingModel
from .gallery_index import INDEX_KINDS, GalleryIndex, IndexMismatchError
from .image_searcher import (ImageInputError, ImageRetrievalInferencer,
                             ImageSearcher, SearchResult, resolve_images)

__all__ = [
    'EmbeddingModel', 'GalleryIndex', 'IndexMismatchError', 'INDEX_KINDS',
    'ImageInputError', 'ImageRetrievalInferencer', 'ImageSearcher',
    'SearchResult', 'resolve_images'
]
