"""Re-ranking (docs/reranking.md): α-QE, α-DBA and k-reciprocal
re-ranking against dense reference implementations of their definitions,
in the metric, in the gallery index and from their specs."""
import numpy as np
import pytest
import torch
from mmpretrain.structures import DataSample

from gcahng.apis import GalleryIndex
from gcahng.evaluation import (AlphaQueryExpansion, DatabaseAugmentation,
                               KReciprocalReranking, RetrievalMetric,
                               as_embeddings, build_reranker, label_ids,
                               precision_at_r)
from gcahng.evaluation.rerankers.base import RerankSpecError


def problem(num=120, dim=16, classes=8, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, num)
    centres = rng.standard_normal((classes, dim))
    x = centres[labels] + 0.9 * rng.standard_normal((num, dim))
    return as_embeddings(x), labels


def dense_ranking(score, k, exclude=None):
    """Indices of the ``k`` best scores per row (a full sort)."""
    score = np.array(score, dtype=np.float64)
    if exclude is not None:
        score[np.arange(len(score)), exclude] = -np.inf
    return np.argsort(-score, axis=1, kind='stable')[:, :k]


def expand(x, gallery, n, alpha, exclude=None):
    """``x + sum_{i<=n} cos^alpha g_i`` over the ``n`` nearest, normalised
    (dense)."""
    sim = x.astype(np.float64) @ gallery.T.astype(np.float64)
    near = dense_ranking(sim, n, exclude)
    w = np.maximum(np.take_along_axis(sim, near, 1), 0)**alpha
    out = x + np.einsum('qn,qnd->qd', w, gallery[near])
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def dense_k_reciprocal(x, num_queries, k1, k2, lam):
    """Zhong et al.'s dense re-ranking on the set ``x`` (queries first),
    with ``d = 1 - cos``: the final distance ``[n, n]``."""
    x = x.astype(np.float64)
    n = len(x)
    dist = 1 - x @ x.T
    np.fill_diagonal(dist, -1)  # each item first in its own ranking
    rank = np.argsort(dist, axis=1, kind='stable')
    np.fill_diagonal(dist, 0)
    v = np.zeros((n, n))
    half = int(np.around(k1 / 2.)) + 1
    for i in range(n):
        fwd = rank[i, :k1 + 1]
        recip = fwd[(rank[fwd, :k1 + 1] == i).any(1)]
        members = recip
        for c in recip:
            cf = rank[c, :half]
            c_recip = cf[(rank[cf, :half] == c).any(1)]
            if len(np.intersect1d(c_recip, recip)) > 2 / 3 * len(c_recip):
                members = np.append(members, c_recip)
        members = np.unique(members)
        w = np.exp(-dist[i, members])
        v[i, members] = w / w.sum()
    v = np.stack([v[rank[i, :k2]].mean(0) for i in range(n)])
    common = np.minimum(v[:, None], v[None]).sum(-1)
    return (1 - lam) * (1 - common / (2 - common)) + lam * dist


def test_k_reciprocal_is_the_dense_algorithm_query_gallery():
    x, _ = problem()
    q, g = x[:30], x[30:]
    kr = KReciprocalReranking(k1=8, k2=3, lambda_value=0.3, shortlist=1000)
    idx, scores = kr.rerank(q, len(g), g)
    final = dense_k_reciprocal(x, 30, 8, 3, 0.3)[:30, 30:]
    np.testing.assert_array_equal(idx, dense_ranking(-final, len(g)))
    np.testing.assert_allclose(
        scores, 1 - np.take_along_axis(final, idx, 1), atol=1e-5)


def test_k_reciprocal_is_the_dense_algorithm_leave_one_out():
    x, _ = problem(num=90, seed=1)
    kr = KReciprocalReranking(k1=7, k2=4, lambda_value=0.2, shortlist=1000)
    idx, _ = kr.rerank(x, 89)
    final = dense_k_reciprocal(x, 90, 7, 4, 0.2)
    np.testing.assert_array_equal(
        idx, dense_ranking(-final, 89, exclude=np.arange(90)))


def test_k_reciprocal_reranks_a_shortlist():
    """Only each query's ``shortlist`` nearest items are re-ranked."""
    x, _ = problem(seed=2)
    q, g = x[:20], x[20:]
    kr = KReciprocalReranking(k1=6, k2=2, shortlist=12)
    idx, _ = kr.rerank(q, 5, g)
    final = dense_k_reciprocal(x, 20, 6, 2, 0.3)[:20, 20:]
    short = dense_ranking(q @ g.T, 12)
    best = np.take_along_axis(
        short,
        np.argsort(np.take_along_axis(final, short, 1), 1, kind='stable'), 1)
    np.testing.assert_array_equal(idx, best[:, :5])


@pytest.mark.parametrize('leave_one_out', [False, True])
@pytest.mark.parametrize('name', ['qe', 'dba'])
def test_expansions_are_their_definitions(name, leave_one_out):
    """α-QE expands the queries, α-DBA the gallery (dense references)."""
    x, _ = problem(seed=3)
    q, g = (x, x) if leave_one_out else (x[:25], x[25:])
    own = np.arange(len(x)) if leave_one_out else None
    if name == 'qe':
        reranker = AlphaQueryExpansion(k=3, alpha=2.0)
        expected = expand(q, g, 3, 2.0, own) @ g.T
    else:
        reranker = DatabaseAugmentation(k=2, alpha=3.0)
        expected = q @ expand(g, g, 2, 3.0, np.arange(len(g))).T
    idx, scores = reranker.rerank(q, 10, None if leave_one_out else g)
    np.testing.assert_array_equal(idx, dense_ranking(expected, 10, own))
    np.testing.assert_allclose(
        scores, np.take_along_axis(expected, idx, 1), atol=1e-5)


def samples(x, labels, is_query=None):
    out = []
    for i, (e, lab) in enumerate(zip(x, labels)):
        s = DataSample().set_gt_label(int(lab))
        s.set_field(torch.from_numpy(e), 'embedding')
        if is_query is not None:
            s.set_metainfo(dict(is_query=bool(is_query[i])))
        out.append(s)
    return out


def metrics_of_lists(idx, q_labels, g_labels, leave_one_out):
    """R@1 and M@R (percent) from ranked lists as deep as max R."""
    _, _, num_rel = label_ids(q_labels, g_labels, leave_one_out)
    rel = g_labels[idx] == q_labels[:, None]
    _, ap = precision_at_r(rel, num_rel)
    valid = num_rel > 0
    return 100 * rel[:, 0].mean(), 100 * ap[valid].mean()


@pytest.mark.parametrize('mode', ['leave_one_out', 'query_gallery'])
@pytest.mark.parametrize('rerank', ['qe', 'dba', 'k_reciprocal'])
def test_metric_scores_the_reranked_lists(mode, rerank):
    """RetrievalMetric(rerank=...) scores exactly the re-ranker's lists,
    which differ from the plain ranking."""
    x, labels = problem(num=100, seed=5)
    is_query = np.arange(100) < 40 if mode == 'query_gallery' else None
    metric = RetrievalMetric(topk=(1, ), mode=mode, rerank=rerank)
    metric.process(None, samples(x, labels, is_query))
    got = metric.compute_metrics(metric.results)
    reranker = build_reranker(rerank)
    if mode == 'leave_one_out':
        q, ql, g, gl = x, labels, None, labels
    else:
        q, ql, g, gl = x[:40], labels[:40], x[40:], labels[40:]
    depth = int(label_ids(ql, gl, g is None)[2].max())
    idx, _ = reranker.rerank(q, depth, g)
    r1, mar = metrics_of_lists(idx, ql, gl, g is None)
    assert got['R@1'] == pytest.approx(r1, abs=1e-9)
    assert got['M@R'] == pytest.approx(mar, abs=1e-9)
    plain = RetrievalMetric(topk=(1, ), mode=mode)
    plain.process(None, samples(x, labels, is_query))
    assert plain.compute_metrics(plain.results) != got


def test_gallery_index_reranks_and_keeps_the_prepared_gallery(monkeypatch):
    x, _ = problem(seed=6)
    index = GalleryIndex(x[20:], [str(i) for i in range(100)])
    ref_idx, ref_scores = KReciprocalReranking().rerank(x[:20], 5, x[20:])
    calls = []
    prepare = KReciprocalReranking.prepare

    def counting(self, *args, **kwargs):
        calls.append(1)
        return prepare(self, *args, **kwargs)

    monkeypatch.setattr(KReciprocalReranking, 'prepare', counting)
    for rerank in ('k_reciprocal', dict(type='k_reciprocal')):
        idx, scores = index.search(x[:20], 5, rerank=rerank)
        np.testing.assert_array_equal(idx, ref_idx)
        np.testing.assert_allclose(scores, ref_scores, atol=1e-6)
    assert len(calls) == 1  # the gallery's side: once
    idx, _ = index.search(x[20:], 4, exclude_self=True, rerank='qe')
    np.testing.assert_array_equal(idx,
                                  AlphaQueryExpansion().rerank(x[20:], 4)[0])
    hnsw = GalleryIndex(x[20:], [str(i) for i in range(100)], kind='hnsw')
    with pytest.raises(ValueError, match='flat index'):
        hnsw.search(x[:2], 3, rerank='dba')


def test_functional_metric_takes_the_specs():
    x, labels = problem(num=60, seed=7)
    from gcahng.evaluation import retrieval_metrics
    plain = retrieval_metrics(x, labels)
    assert retrieval_metrics(x, labels, rerank='none') == plain
    assert retrieval_metrics(x, labels, rerank=dict(type='qe')) == \
        retrieval_metrics(x, labels, rerank=AlphaQueryExpansion())


def test_build_reranker():
    assert build_reranker(None) is None and build_reranker('none') is None
    assert isinstance(build_reranker('qe'), AlphaQueryExpansion)
    assert isinstance(
        build_reranker('DatabaseAugmentation'), DatabaseAugmentation)
    kr = build_reranker(dict(type='k_reciprocal', k1=5, shortlist=9))
    assert (kr.params['k1'], kr.params['shortlist']) == (5, 9)
    assert build_reranker(kr) is kr
    with pytest.raises(RerankSpecError, match="unknown re-ranker 'nope'"):
        build_reranker('nope')
    with pytest.raises(
            RerankSpecError,
            match="KReciprocalReranking takes no argument 'k9'"):
        build_reranker(dict(type='k_reciprocal', k9=3))
    with pytest.raises(ValueError, match='rerank must be'):
        build_reranker(["{'type':'qe'", "'k':3}"])  # DictAction's split
    with pytest.raises(ValueError, match='lambda_value'):
        KReciprocalReranking(lambda_value=2.0)
    with pytest.raises(ValueError, match='k >= 1'):
        AlphaQueryExpansion(k=0)
