"""Image retrieval with a trained gcahng model as an mmpretrain inferencer.

:class:`ImageRetrievalInferencer` is a :class:`mmpretrain.apis.BaseInferencer`
with mmpretrain's conventions: built from a model (here a config) and its
``pretrained`` weights with a ``prototype`` gallery, called on images it
runs ``preprocess`` (batches of images), ``forward`` (embeddings),
``visualize`` (nothing to draw) and ``postprocess`` (the ``topk`` gallery
images of each query), and :meth:`list_models` names what ``model`` may be.
The work is :class:`~gcahng.apis.ImageSearcher`'s (``self.searcher``).
"""
import fnmatch
import glob
import os.path as osp
from typing import Any, Iterator, List, Optional, Tuple, Union

import numpy as np
from mmengine.config import Config
from mmpretrain.apis import BaseInferencer

from .image_searcher import (ImageInput, ImageSearcher, SearchResult,
                             resolve_images)

#: Where :meth:`ImageRetrievalInferencer.list_models` looks for configs.
CONFIGS = osp.join(osp.dirname(osp.dirname(osp.dirname(__file__))), 'configs')

#: One prediction: the query (path or array) and its embedding.
Prediction = Tuple[Any, np.ndarray]


class ImageRetrievalInferencer(BaseInferencer):
    """mmpretrain's ``ImageRetrievalInferencer`` interface for a gcahng
    model.

    Args:
        model (str | Config): The training config (see
            :meth:`list_models`).
        prototype: The gallery: a folder, image paths or arrays.
        prototype_cache (str, optional): A saved gallery index, loaded when
            it exists (refused if another model built it), else written
            after building it from ``prototype``.
        pretrained (str, optional): The checkpoint.
        device (str, optional): ``'cpu'``, ``'cuda'``; default CUDA when
            available.
        **kwargs: Further :class:`ImageSearcher` arguments.

    Examples:
        >>> inferencer = ImageRetrievalInferencer(
        ...     'configs/gcahng/r50_pa_cub.py', prototype='photos/',
        ...     prototype_cache='photos.index.npz', pretrained='best.pth')
        >>> hits = inferencer('query.jpg', topk=5)[0]
        >>> hits.paths, hits.scores
    """
    postprocess_kwargs = {'topk'}

    def __init__(self,
                 model: Union[str, Config],
                 prototype: ImageInput,
                 prototype_cache: Optional[str] = None,
                 pretrained: Optional[str] = None,
                 device: Optional[str] = None,
                 **kwargs: Any) -> None:
        self.searcher = ImageSearcher(
            model, pretrained, device=device, **kwargs)
        self.searcher.model._config = self.searcher.cfg  # BaseInferencer's
        super().__init__(self.searcher.model, pretrained=False)
        if prototype_cache is not None and osp.isfile(prototype_cache):
            self.searcher.load_index(prototype_cache)
        else:
            self.searcher.build_index(prototype)
            if prototype_cache is not None:
                self.searcher.save_index(prototype_cache)

    def _init_pipeline(self, cfg: Config) -> Any:
        """The searcher runs the config's test pipeline (in ``forward``)."""
        return None

    def _inputs_to_list(self, inputs: ImageInput) -> list:
        """The images of ``inputs`` (a folder's sorted images, paths or
        arrays), as :func:`~gcahng.apis.resolve_images` reads them."""
        return list(resolve_images(inputs)[0])

    def preprocess(self,
                   inputs: list,
                   batch_size: int = 1,
                   **kwargs: Any) -> Iterator[list]:
        """Batches of ``batch_size`` images."""
        for start in range(0, len(inputs), batch_size):
            yield inputs[start:start + batch_size]

    def forward(self, inputs: list, **kwargs: Any) -> List[Prediction]:
        """Each image of a batch with its embedding."""
        return list(zip(inputs, self.searcher.embed(list(inputs))))

    def visualize(self, inputs: list, preds: List[Prediction],
                  **kwargs: Any) -> None:
        """Retrieval draws nothing here
        (``tools/analysis_tools/visualize_retrieval.py`` does)."""
        return None

    def postprocess(self,
                    preds: List[Prediction],
                    visualization: None,
                    return_datasamples: bool = False,
                    topk: int = 1) -> List[SearchResult]:
        """The ``topk`` gallery images of each query, one
        :class:`SearchResult` each (also with ``return_datasamples``:
        retrieval has no data samples)."""
        return self.searcher.search_embeddings(
            np.stack([emb for _, emb in preds]),
            k=topk,
            queries=[query for query, _ in preds])

    @staticmethod
    def list_models(pattern: Optional[str] = None) -> List[str]:
        """The configs this inferencer takes as ``model``
        (``configs/<folder>/<name>.py``), matching the wildcard
        ``pattern`` if given."""
        names = sorted(
            osp.relpath(p, osp.dirname(CONFIGS))
            for p in glob.glob(osp.join(CONFIGS, '*', '*.py')))
        if pattern is not None:
            names = [n for n in names if fnmatch.fnmatch(n, pattern)]
        return names


__all__ = ['ImageRetrievalInferencer']
