"""MMEngine metric wrapping :func:`gcahng.evaluation.retrieval_metrics`."""
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.structures import BaseDataElement

from gcahng.registry import METRICS
from ..functional import retrieval_metrics
from ..rerankers import build_reranker

_MODES = ('leave_one_out', 'query_gallery')
_MISSING = object()


def _get_field(sample: Union[dict, BaseDataElement], key: str) -> Any:
    """Read ``key`` from a data sample (a dict such as
    ``DataSample.to_dict()``, possibly with a nested ``'metainfo'`` dict, or
    a :class:`BaseDataElement`, data field or metainfo)."""
    if isinstance(sample, BaseDataElement):
        value = sample.get(key, _MISSING)
    elif isinstance(sample, dict):
        value = sample.get(key, _MISSING)
        if value is _MISSING and isinstance(sample.get('metainfo'), dict):
            value = sample['metainfo'].get(key, _MISSING)
    else:
        raise TypeError('A data sample must be a dict or a BaseDataElement, '
                        f'got {type(sample)}.')
    if value is _MISSING:
        raise KeyError(f'The data sample has no `{key}`.')
    return value


def _to_int(label: Any) -> int:
    """A class label given as an int or a one-element tensor / array."""
    if isinstance(label, (torch.Tensor, np.ndarray)):
        numel = label.size if isinstance(label, np.ndarray) else \
            label.numel()
        if numel != 1:
            raise ValueError('`gt_label` must hold exactly one label, got '
                             f'shape {tuple(label.shape)}.')
        return int(label.reshape(-1)[0])
    return int(label)


@METRICS.register_module()
class RetrievalMetric(BaseMetric):
    """R@K, R-Precision and MAP@R over the embeddings of a dataset
    (docs/algorithm.md §8).

    With ``rel(k)`` = 1 if the ``k``-th most cosine-similar gallery item has
    the query's class and ``R`` the number of such gallery items:
    ``R@K = 1[sum_{k<=K} rel(k) >= 1]``, ``RP = (1/R) sum_{k<=R} rel(k)`` and
    ``M@R = (1/R) sum_{k<=R} P@k rel(k)`` (Musgrave et al., 2020), averaged
    over queries, in percent. See :func:`retrieval_metrics` for queries
    without positives (misses for R@K, excluded from RP / M@R, counted in
    ``num_queries_without_positives``) and K larger than the gallery
    (clipped).

    Each data sample (a dict, e.g. ``DataSample.to_dict()``, or an
    mmpretrain ``DataSample``) must carry ``embedding`` (a 1-D tensor ``[D]``)
    and ``gt_label`` (an int or a one-element tensor); in ``query_gallery``
    mode also ``is_query`` (bool, a data field or metainfo; ``True`` puts
    the sample in the query set, ``False`` in the gallery).

    One result is stored per sample, so that mmengine's
    ``collect_results(results, size)`` puts the ranks' results back in
    dataset order and drops the samples the distributed sampler padded.

    Args:
        topk (Sequence[int]): The K of R@K. Defaults to (1, 2, 4, 8).
        mode (str): ``'leave_one_out'`` (every sample is a query against all
            the others, itself excluded by index) or ``'query_gallery'``
            (e.g. InShop). Defaults to ``'leave_one_out'``.
        chunk_size (int): Queries searched at once. Defaults to 4096.
        device (str, optional): Search device, see
            :func:`retrieval_metrics`. Defaults to None (automatic).
        collect_device (str): ``'cpu'`` or ``'gpu'``, used to gather results
            across ranks. Defaults to ``'cpu'``.
        prefix (str, optional): Key prefix. Defaults to ``'retrieval'``.
        rerank (str | dict, optional): Re-rank the search before scoring:
            ``'qe'`` (α-QE), ``'dba'`` (α-DBA), ``'k_reciprocal'`` (Zhong et
            al., CVPR 2017) or a config dict of
            ``gcahng.evaluation.rerankers`` (docs/reranking.md), e.g.
            ``--cfg-options test_evaluator.rerank=k_reciprocal``. Defaults
            to None: the exact cosine ranking, as before re-ranking
            existed.
    """
    default_prefix: Optional[str] = 'retrieval'

    def __init__(self,
                 topk: Sequence[int] = (1, 2, 4, 8),
                 mode: str = 'leave_one_out',
                 chunk_size: int = 4096,
                 device: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = 'retrieval',
                 rerank: Union[None, str, dict] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if mode not in _MODES:
            raise ValueError(f'`mode` must be one of {_MODES}, got {mode!r}.')
        topk = (topk, ) if isinstance(topk, int) else tuple(topk)
        if len(topk) == 0 or min(topk) < 1:
            raise ValueError(f'`topk` must be positive ints, got {topk}.')
        self.topk = topk
        self.mode = mode
        self.chunk_size = chunk_size
        self.device = device
        self.rerank = build_reranker(rerank)

    def process(self, data_batch: Any,
                data_samples: Sequence[Union[dict, BaseDataElement]]) -> None:
        """Store each sample's float32 CPU embedding, label (and, in
        ``query_gallery`` mode, its ``is_query`` flag)."""
        for sample in data_samples:
            emb = torch.as_tensor(_get_field(sample, 'embedding'))
            # clone: a view would keep (and pickle) the whole batch storage
            emb = emb.detach().to('cpu', torch.float32).reshape(-1).clone()
            result = dict(
                embedding=emb, label=_to_int(_get_field(sample, 'gt_label')))
            if self.mode == 'query_gallery':
                result['is_query'] = bool(_get_field(sample, 'is_query'))
            self.results.append(result)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Stack the (rank-gathered) results and evaluate them.

        Returns:
            dict: ``R@{K}``, ``RP``, ``M@R`` (percent), ``num_queries`` and
            ``num_queries_without_positives``.
        """
        if len(results) == 0:
            raise ValueError('RetrievalMetric got no results.')
        emb = torch.stack([r['embedding'] for r in results]).float()
        labels = torch.tensor([r['label'] for r in results], dtype=torch.long)
        kwargs = dict(
            ks=self.topk,
            chunk_size=self.chunk_size,
            device=self.device,
            rerank=self.rerank)
        if self.mode == 'leave_one_out':
            return retrieval_metrics(emb, labels, **kwargs)
        is_query = torch.tensor([r['is_query'] for r in results],
                                dtype=torch.bool)
        if not is_query.any() or is_query.all():
            raise ValueError(
                'query_gallery mode needs both queries and gallery items, '
                f'got {int(is_query.sum())} queries of {len(results)}.')
        return retrieval_metrics(emb[is_query], labels[is_query],
                                 emb[~is_query], labels[~is_query], **kwargs)
