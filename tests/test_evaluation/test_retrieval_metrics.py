"""Tests of the retrieval metrics R@K, RP and MAP@R (docs/algorithm.md §8)."""
import sys
import warnings

import numpy as np
import pytest
import torch
from mmpretrain.structures import DataSample

from gcahng.evaluation import (RetrievalMetric, nearest_neighbours,
                               retrieval_metrics)
from gcahng.evaluation.functional import _drop_self, _select_backend
from gcahng.registry import METRICS


def brute_force(query, q_labels, gallery=None, g_labels=None, ks=(1, )):
    """Independent reference: full sort per query, plain Python loops."""
    query = np.asarray(query, dtype=np.float64)
    query = query / np.linalg.norm(query, axis=1, keepdims=True)
    loo = gallery is None
    if loo:
        gallery, g_labels = query, q_labels
    gallery = np.asarray(gallery, dtype=np.float64)
    gallery = gallery / np.linalg.norm(gallery, axis=1, keepdims=True)
    hits = {k: 0 for k in ks}
    rps, maps, no_pos = [], [], 0
    for i in range(len(query)):
        sim = gallery @ query[i]
        order = sorted(range(len(gallery)), key=lambda j: -sim[j])
        if loo:
            order = [j for j in order if j != i]
        rel = [int(g_labels[j] == q_labels[i]) for j in order]
        r = sum(rel)
        for k in ks:
            # slicing clips K to the list length, as documented
            hits[k] += int(sum(rel[:k]) > 0)
        if r == 0:
            no_pos += 1
            continue
        rps.append(sum(rel[:r]) / r)
        ap = 0.0
        for k in range(1, r + 1):
            if rel[k - 1]:
                ap += sum(rel[:k]) / k
        maps.append(ap / r)
    out = {f'R@{k}': 100.0 * hits[k] / len(query) for k in ks}
    out['RP'] = 100.0 * sum(rps) / len(rps)
    out['M@R'] = 100.0 * sum(maps) / len(maps)
    out['num_queries'] = len(query)
    out['num_queries_without_positives'] = no_pos
    return out


def assert_metrics_equal(ours, ref):
    assert set(ours) == set(ref)
    for key, val in ref.items():
        assert ours[key] == pytest.approx(val, abs=1e-9), key


def random_problem(num, dim, classes, seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, size=num)
    centres = rng.standard_normal((classes, dim))
    x = centres[labels] + 0.8 * rng.standard_normal((num, dim))
    return x.astype(np.float32), labels


def unit(deg):
    """Points on the unit circle (scaled, to check the normalisation)."""
    rad = np.deg2rad(np.asarray(deg, dtype=np.float64))
    scale = np.linspace(0.5, 3.0, len(rad))[:, None]
    return (np.stack([np.cos(rad), np.sin(rad)], axis=1) * scale).astype(
        np.float32)


@pytest.fixture
def no_faiss(monkeypatch):
    # ``import faiss`` raises ImportError while sys.modules['faiss'] is None
    monkeypatch.setitem(sys.modules, 'faiss', None)


# (a) against the brute force
@pytest.mark.parametrize('ks', [(1, 2, 4, 8), (1, 10, 100), (3, 1000)])
def test_leave_one_out_matches_brute_force(ks):
    x, y = random_problem(240, 8, 40, seed=0)
    ours = retrieval_metrics(x, y, ks=ks, chunk_size=64)
    assert_metrics_equal(ours, brute_force(x, y, ks=ks))
    assert 0 < ours['R@%d' % ks[0]] < 100


@pytest.mark.parametrize('ks', [(1, 2, 4, 8), (1, 10, 20, 30, 40, 50)])
def test_query_gallery_matches_brute_force(ks):
    q, qy = random_problem(150, 8, 30, seed=1)
    g, gy = random_problem(260, 8, 30, seed=1)  # same centres, new noise
    ours = retrieval_metrics(
        torch.from_numpy(q),
        torch.from_numpy(qy),
        torch.from_numpy(g),
        torch.from_numpy(gy),
        ks=ks,
        chunk_size=50)
    assert_metrics_equal(ours, brute_force(q, qy, g, gy, ks=ks))


def test_large_classes_search_deeper_than_max_k():
    # R up to ~60 > max(ks): RP / M@R need a search depth of max R
    x, y = random_problem(300, 6, 5, seed=2)
    ours = retrieval_metrics(x, y, ks=(1, 2))
    ref = brute_force(x, y, ks=(1, 2))
    assert np.bincount(y).max() - 1 > 2
    assert_metrics_equal(ours, ref)


# (b) hand-built cases
def test_hand_built_leave_one_out():
    # angles (deg) / labels: A0 0 /0, A1 10 /0, B0 25 /1, A2 60 /0, B1 70 /1
    # ranking of the others, rel, R, R@1 R@2 R@4, RP, MAP@R:
    #   A0: A1 B0 A2 B1  [1 0 1 0] R=2  hit hit hit  1/2  (1/2)(1)     = 1/2
    #   A1: A0 B0 A2 B1  [1 0 1 0] R=2  hit hit hit  1/2  1/2
    #   B0: A1 A0 A2 B1  [0 0 0 1] R=1  -   -   hit  0    0
    #   A2: B1 B0 A1 A0  [0 0 1 1] R=2  -   -   hit  0    0
    #   B1: A2 B0 A1 A0  [0 1 0 0] R=1  -   hit hit  0    0
    x = unit([0, 10, 25, 60, 70])
    y = np.array([0, 0, 1, 0, 1])
    out = retrieval_metrics(x, y, ks=(1, 2, 4))
    assert out['R@1'] == pytest.approx(100 * 2 / 5)
    assert out['R@2'] == pytest.approx(100 * 3 / 5)
    assert out['R@4'] == pytest.approx(100.0)
    assert out['RP'] == pytest.approx(100 * 1 / 5)
    assert out['M@R'] == pytest.approx(100 * 1 / 5)
    assert out['num_queries'] == 5
    assert out['num_queries_without_positives'] == 0


def test_hand_built_query_gallery():
    # gallery angles / labels: g1 5/1, g2 10/0, g3 20/0, g4 30/1, g5 40/0
    # q1 at 0 deg, label 0: ranking g1..g5, rel [0 1 1 0 1], R = 3
    #   R@1 miss, R@2 hit, RP = 2/3, MAP@R = (1/3)(0 + 1/2 + 2/3) = 7/18
    # q2 at 180 deg, label 1: ranking g5 g4 g3 g2 g1, rel [0 1 0 0 1], R = 2
    #   R@1 miss, R@2 hit, RP = 1/2, MAP@R = (1/2)(0 + 1/2) = 1/4
    # q3 at 90 deg, label 7: no positive -> miss, not in RP / MAP@R
    q = unit([0, 180, 90])
    qy = np.array([0, 1, 7])
    g = unit([5, 10, 20, 30, 40])
    gy = np.array([1, 0, 0, 1, 0])
    out = retrieval_metrics(q, qy, g, gy, ks=(1, 2))
    assert out['R@1'] == pytest.approx(0.0)
    assert out['R@2'] == pytest.approx(100 * 2 / 3)
    assert out['RP'] == pytest.approx(100 * (2 / 3 + 1 / 2) / 2)
    assert out['M@R'] == pytest.approx(100 * (7 / 18 + 1 / 4) / 2)
    assert out['num_queries'] == 3
    assert out['num_queries_without_positives'] == 1


def test_self_excluded_by_index_with_duplicates():
    # Pair p is two identical points e_p with labels p and p+1 (mod n);
    # every label's other member sits in another pair (orthogonal, sim 0).
    # The nearest other item of each point is its twin (sim 1, other label):
    # R@1 = RP = M@R = 0 exactly. Self-exclusion by distance could keep the
    # query itself (tie at sim 1) and score hits.
    n = 8
    x = np.repeat(np.eye(n, dtype=np.float32), 2, axis=0)
    y = np.stack([np.arange(n), (np.arange(n) + 1) % n], axis=1).reshape(-1)
    out = retrieval_metrics(x, y, ks=(1, ))
    assert out['R@1'] == 0.0
    assert out['RP'] == 0.0
    assert out['M@R'] == 0.0
    assert out['num_queries_without_positives'] == 0

    # 6 identical copies with distinct labels: a top-2 search may not
    # contain the query at all (the last column is dropped then)
    # (copies at e_0; their label mates at 4 e_7 + e_l, l = 1..6, whose
    # nearest are each other: every query misses at rank 1)
    eye = np.eye(8, dtype=np.float32)
    x = np.concatenate([np.tile(eye[:1], (6, 1)), eye[1:7] + 4 * eye[7:]])
    y = np.concatenate([np.arange(6), np.arange(6)])
    out = retrieval_metrics(x, y, ks=(1, ))
    assert out['R@1'] == 0.0


def test_drop_self():
    idx = np.array([[0, 5, 6], [4, 1, 7], [3, 2, 9], [8, 9, 3]])
    out = _drop_self(idx, np.arange(4))
    # rows 0-2 contain their query (at column 0, 1, 1); row 3 does not
    np.testing.assert_array_equal(out, [[5, 6], [4, 7], [3, 9], [8, 9]])


# (c) no positives, K larger than the gallery
def test_query_without_positive_is_a_reported_miss():
    x, y = random_problem(60, 4, 6, seed=3)
    y = y.copy()
    y[:3] = [100, 101, 102]  # singletons: no other member
    out = retrieval_metrics(x, y, ks=(1, 5))
    ref = brute_force(x, y, ks=(1, 5))
    assert out['num_queries_without_positives'] == 3
    assert all(np.isfinite(v) for v in out.values())
    assert_metrics_equal(out, ref)
    # all 3 count as misses: R@59 (every other item) is 57 of 60
    with pytest.warns(UserWarning, match='clipped'):
        out = retrieval_metrics(x, y, ks=(1000, ))
    assert out['R@1000'] == pytest.approx(100 * 57 / 60)


def test_no_query_has_a_positive():
    x = unit([0, 40, 80])
    with pytest.warns(UserWarning, match='No query'):
        out = retrieval_metrics(x, np.array([0, 1, 2]), ks=(1, 2))
    assert out == {
        'R@1': 0.0,
        'R@2': 0.0,
        'RP': 0.0,
        'M@R': 0.0,
        'num_queries': 3,
        'num_queries_without_positives': 3
    }


def test_invalid_inputs():
    x, y = random_problem(10, 4, 2, seed=4)
    with pytest.raises(ValueError):
        retrieval_metrics(x, y[:5])
    with pytest.raises(ValueError):
        retrieval_metrics(x, y, gallery=x)
    with pytest.raises(ValueError):
        retrieval_metrics(x, y, ks=())
    with pytest.raises(ValueError):
        retrieval_metrics(x, y, ks=(0, ))
    with pytest.raises(ValueError):
        retrieval_metrics(x[:1], y[:1])  # leave-one-out of one item
    with pytest.raises(ValueError):
        retrieval_metrics(x, y, x[:, :2], y)


# (d) torch fallback, (e) chunking
@pytest.mark.parametrize('gallery', [False, True])
def test_torch_fallback_equals_faiss(gallery, no_faiss):
    x, y = random_problem(200, 8, 25, seed=5)
    g, gy = random_problem(150, 8, 25, seed=6)
    args = (x, y, g, gy) if gallery else (x, y)
    ks = (1, 2, 4, 8, 500)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        with_torch = retrieval_metrics(*args, ks=ks, chunk_size=33)
    assert _select_backend(None, 10)[0] == 'torch'
    sys.modules.pop('faiss')  # undo the fixture's hiding for this call
    import faiss  # noqa: F401
    assert _select_backend('cpu', 10)[0] == 'faiss-cpu'
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        with_faiss = retrieval_metrics(*args, ks=ks, chunk_size=33)
    assert_metrics_equal(with_torch, with_faiss)


@pytest.mark.parametrize('chunk_size', [1, 7, 64])
def test_chunking_does_not_change_the_result(chunk_size):
    x, y = random_problem(150, 8, 20, seed=7)
    g, gy = random_problem(90, 8, 20, seed=8)
    ks = (1, 2, 4, 8)
    assert_metrics_equal(
        retrieval_metrics(x, y, ks=ks, chunk_size=chunk_size),
        retrieval_metrics(x, y, ks=ks, chunk_size=100000))
    assert_metrics_equal(
        retrieval_metrics(x, y, g, gy, ks=ks, chunk_size=chunk_size),
        retrieval_metrics(x, y, g, gy, ks=ks, chunk_size=100000))


# (f) the registered metric
def _as_samples(x, y, is_query=None, kind='dict'):
    samples = []
    for i in range(len(x)):
        emb = torch.from_numpy(x)[i]  # a view into the whole batch
        if kind == 'dict':
            sample = dict(embedding=emb, gt_label=torch.tensor([int(y[i])]))
            if is_query is not None:
                sample['metainfo'] = dict(is_query=bool(is_query[i]))
        else:
            sample = DataSample().set_gt_label(int(y[i]))
            sample.set_field(emb, 'embedding')
            if is_query is not None:
                sample.set_metainfo(dict(is_query=bool(is_query[i])))
        samples.append(sample)
    return samples


def _run(metric, samples, batch_size=16):
    for s in range(0, len(samples), batch_size):
        metric.process(None, samples[s:s + batch_size])
    return metric.evaluate(len(samples))


@pytest.mark.parametrize('kind', ['dict', 'data_sample'])
def test_metric_leave_one_out(kind):
    x, y = random_problem(120, 8, 20, seed=9)
    metric = METRICS.build(
        dict(type='RetrievalMetric', topk=(1, 2, 4), chunk_size=32))
    assert isinstance(metric, RetrievalMetric)
    samples = _as_samples(x, y, kind=kind)
    metric.process(None, samples[:1])
    stored = metric.results[0]['embedding']
    assert stored.dtype == torch.float32
    assert stored.untyped_storage().nbytes() == 8 * 4  # a copy, not a view
    metric.results.clear()
    out = _run(metric, samples)
    ref = brute_force(x, y, ks=(1, 2, 4))
    assert_metrics_equal(out, {f'retrieval/{k}': v for k, v in ref.items()})
    assert metric.results == []


@pytest.mark.parametrize('kind', ['dict', 'data_sample'])
def test_metric_query_gallery(kind):
    x, y = random_problem(150, 8, 20, seed=10)
    is_query = np.arange(150) % 3 == 0
    metric = METRICS.build(
        dict(
            type='RetrievalMetric',
            topk=(1, 10),
            mode='query_gallery',
            prefix='inshop'))
    out = _run(metric, _as_samples(x, y, is_query, kind=kind))
    ref = brute_force(
        x[is_query], y[is_query], x[~is_query], y[~is_query], ks=(1, 10))
    assert_metrics_equal(out, {f'inshop/{k}': v for k, v in ref.items()})

    # a flat dict (``DataSample.to_dict()``) with an int label works too
    flat = [
        dict(
            embedding=torch.from_numpy(x[i]),
            gt_label=int(y[i]),
            is_query=bool(is_query[i])) for i in range(150)
    ]
    assert_metrics_equal(_run(metric, flat), out)


@pytest.mark.parametrize(
    'rerank',
    [{}, dict(rerank=None), dict(rerank='none')])
@pytest.mark.parametrize('mode', ['leave_one_out', 'query_gallery'])
def test_metric_without_reranking_is_the_exact_ranking(rerank, mode):
    """Re-ranking off (the default, None or 'none') is the cosine ranking
    of the brute-force reference, exactly as before re-ranking existed."""
    x, y = random_problem(140, 8, 20, seed=12)
    is_query = np.arange(140) % 4 == 0 if mode == 'query_gallery' else None
    metric = METRICS.build(
        dict(type='RetrievalMetric', topk=(1, 4), mode=mode, **rerank))
    assert metric.rerank is None
    out = _run(metric, _as_samples(x, y, is_query, kind='data_sample'))
    ref = brute_force(
        x, y, ks=(1, 4)) if is_query is None else brute_force(
            x[is_query], y[is_query], x[~is_query], y[~is_query], ks=(1, 4))
    assert_metrics_equal(out, {f'retrieval/{k}': v for k, v in ref.items()})


def test_metric_config_errors():
    with pytest.raises(ValueError):
        RetrievalMetric(mode='gallery_only')
    metric = RetrievalMetric(mode='query_gallery')
    x, y = random_problem(10, 4, 2, seed=11)
    with pytest.raises(KeyError):
        metric.process(None, _as_samples(x, y))  # no is_query
    metric.process(None, _as_samples(x, y, np.zeros(10, bool)))
    with pytest.raises(ValueError, match='queries'):
        metric.compute_metrics(metric.results)


@pytest.mark.parametrize('leave_one_out', [True, False])
def test_nearest_neighbours_equal_a_full_sort(leave_one_out):
    rng = np.random.default_rng(3)
    query = rng.normal(size=(37, 8)).astype(np.float32)
    gallery = None if leave_one_out else rng.normal(
        size=(50, 8)).astype(np.float32)
    got = np.concatenate([
        idx for _, idx in nearest_neighbours(query, 5, gallery, chunk_size=10)
    ])
    unit = query / np.linalg.norm(query, axis=1, keepdims=True)
    g = unit if leave_one_out else gallery / np.linalg.norm(
        gallery, axis=1, keepdims=True)
    sim = unit.astype(np.float64) @ g.T.astype(np.float64)
    if leave_one_out:
        np.fill_diagonal(sim, -np.inf)
    np.testing.assert_array_equal(got, np.argsort(-sim, axis=1)[:, :5])
    with pytest.raises(ValueError, match='neighbours requested'):
        next(nearest_neighbours(query, len(query)))
