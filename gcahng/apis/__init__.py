"""Using a trained model: image search, gallery indices, the inference
model and its image pipeline (README, "Use a trained model")."""
from .embedding_model import EmbeddingModel
from .gallery_index import (INDEX_KINDS, GalleryIndex, IndexKindError,
                            IndexMismatchError)
from .image_retrieval_inferencer import ImageRetrievalInferencer
from .image_searcher import (ImageInputError, ImageSearcher, SearchResult,
                             resolve_images)
from .inference_pipeline import PipelineError, inference_pipeline

__all__ = [
    'EmbeddingModel', 'GalleryIndex', 'IndexKindError', 'IndexMismatchError',
    'INDEX_KINDS', 'ImageInputError', 'ImageRetrievalInferencer',
    'ImageSearcher', 'PipelineError', 'SearchResult', 'inference_pipeline',
    'resolve_images'
]
