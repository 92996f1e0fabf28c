"""Speed of the retrieval metric against the bare faiss kNN search
(docs/algorithm.md §8).

Builds a seeded SOP-size leave-one-out problem (default 60,502 x 512
float32, 11,316 classes of 2-12 images, class-clustered embeddings), then
times, interleaved ``--repeat`` times:

- ``metric``: :func:`gcahng.evaluation.retrieval_metrics` end to end on the
  raw (un-normalised) embeddings with Ks 1/10/100/1000: normalisation,
  label counting, index build, chunked search, post-processing;
- ``knn``: the bare search it needs: ``faiss.IndexFlatIP`` built on the
  already normalised embeddings and ONE ``index.search`` call over all
  queries (no chunking) with the same ``k`` (``max(max(Ks), max R) + 1``).

The ratio uses the fastest run of each (the machine may be shared). As a
noise-robust cross-check, the time the metric spends outside its own faiss
searches is also printed. The last line is ``RESULT eval_over_knn=<ratio>``.

``--check`` first verifies the metric against a brute-force full sort of
the similarity matrix (one Python loop per query) on subsets: leave-one-out
on the embeddings of random whole classes (``--check-queries`` or a few
more), and ``--check-queries`` random queries against all the remaining
embeddings as gallery (query -> gallery, a full-size gallery).

Example::

    python benchmarks/eval_speed.py --check
"""
import argparse
import time
from typing import Dict, Optional, Sequence, Tuple

import faiss
import numpy as np

from gcahng.evaluation import retrieval_metrics


def add_problem_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of :func:`make_problem` (also ``rerank_cost.py``'s)."""
    parser.add_argument('--num', type=int, default=60502, help='embeddings')
    parser.add_argument('--dim', type=int, default=512, help='dimension')
    parser.add_argument('--classes', type=int, default=11316, help='classes')
    parser.add_argument('--min-size', type=int, default=2)
    parser.add_argument('--max-size', type=int, default=12)
    parser.add_argument(
        '--noise',
        type=float,
        default=2.2,
        help='norm of the per-sample noise around the unit class centre '
        '(2.2: R@1 ~ 80%% at the default size)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--threads',
        type=int,
        default=None,
        help='faiss OpenMP threads (default: faiss default)')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    add_problem_arguments(parser)
    parser.add_argument(
        '--ks', type=int, nargs='+', default=[1, 10, 100, 1000])
    parser.add_argument('--chunk-size', type=int, default=4096)
    parser.add_argument('--repeat', type=int, default=2)
    parser.add_argument(
        '--check', action='store_true', help='verify against brute force')
    parser.add_argument('--check-queries', type=int, default=2000)
    return parser.parse_args()


def class_sizes(num: int, classes: int, lo: int, hi: int,
                rng: np.random.Generator) -> np.ndarray:
    """SOP-like class sizes in ``[lo, hi]`` summing exactly to ``num``.

    SOP's test split has 60,502 images of 11,316 products, 2-12 each, small
    classes most frequent: draw from ``p(s) ~ r**s`` on ``[lo, hi]`` with
    ``r`` set (bisection) so that the mean is ``num / classes``, then move
    single images between random classes until the total is exact.
    """
    if not lo * classes <= num <= hi * classes:
        raise ValueError(f'{num} images cannot fill {classes} classes of '
                         f'{lo}-{hi} images.')
    support = np.arange(lo, hi + 1)
    r_lo, r_hi = 1e-6, 1e6
    for _ in range(200):  # mean of p(s) ~ r**s grows with r
        r = np.sqrt(r_lo * r_hi)
        logp = support * np.log(r)
        prob = np.exp(logp - logp.max())
        prob /= prob.sum()
        if (prob * support).sum() < num / classes:
            r_lo = r
        else:
            r_hi = r
    sizes = rng.choice(support, size=classes, p=prob)
    while sizes.sum() != num:
        diff = num - int(sizes.sum())
        step = 1 if diff > 0 else -1
        ok = np.flatnonzero((sizes < hi) if step > 0 else (sizes > lo))
        pick = rng.choice(ok, size=min(abs(diff), len(ok)), replace=False)
        sizes[pick] += step
    return sizes


def make_problem(args: argparse.Namespace) -> Tuple[np.ndarray, np.ndarray]:
    """Class-clustered float32 embeddings ``[num, dim]`` and labels."""
    rng = np.random.default_rng(args.seed)
    sizes = class_sizes(args.num, args.classes, args.min_size, args.max_size,
                        rng)
    labels = np.repeat(np.arange(args.classes), sizes)
    labels = labels[rng.permutation(args.num)]
    centres = rng.standard_normal((args.classes, args.dim), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    noise = rng.standard_normal((args.num, args.dim), dtype=np.float32)
    noise *= np.float32(args.noise / np.sqrt(args.dim))
    # random scales: the metric must normalise
    scale = rng.uniform(0.5, 2.0, size=(args.num, 1)).astype(np.float32)
    return (centres[labels] + noise) * scale, labels


def brute_force(query: np.ndarray,
                q_labels: np.ndarray,
                gallery: Optional[np.ndarray],
                g_labels: Optional[np.ndarray],
                ks: Sequence[int],
                block: int = 256) -> Dict[str, float]:
    """Reference: full sort of every query's similarities, per-query loop."""
    query = query / np.linalg.norm(query, axis=1, keepdims=True)
    loo = gallery is None
    if loo:
        gallery, g_labels = query, q_labels
    else:
        gallery = gallery / np.linalg.norm(gallery, axis=1, keepdims=True)
    n_cand = len(gallery) - int(loo)
    hits = {k: 0 for k in ks}
    rps, maps = [], []
    for s in range(0, len(query), block):
        sim = query[s:s + block].astype(np.float64) @ gallery.T.astype(
            np.float64)
        for row in range(sim.shape[0]):
            i = s + row
            order = np.argsort(-sim[row], kind='stable')
            if loo:
                order = order[order != i]
            rel = g_labels[order] == q_labels[i]
            num_rel = int(rel.sum())
            for k in ks:
                hits[k] += bool(rel[:min(k, n_cand)].any())
            if num_rel == 0:
                continue
            rps.append(rel[:num_rel].sum() / num_rel)
            prec = [rel[:j + 1].sum() / (j + 1) for j in range(num_rel)]
            maps.append(
                sum(p for p, r in zip(prec, rel[:num_rel]) if r) / num_rel)
    out = {f'R@{k}': 100.0 * hits[k] / len(query) for k in ks}
    out['RP'] = 100.0 * float(np.mean(rps))
    out['M@R'] = 100.0 * float(np.mean(maps))
    out['num_queries_without_positives'] = len(query) - len(rps)
    return out


def check(args: argparse.Namespace, x: np.ndarray, y: np.ndarray) -> None:
    """Compare with :func:`brute_force`; raise on any mismatch."""
    rng = np.random.default_rng(args.seed + 1)
    # leave-one-out over whole classes (random ones, >= check_queries items)
    classes = rng.permutation(y.max() + 1)
    cum = np.cumsum(np.bincount(y, minlength=y.max() + 1)[classes])
    keep = classes[:np.searchsorted(cum, args.check_queries) + 1]
    loo_idx = np.flatnonzero(np.isin(y, keep))
    # query -> gallery: random queries against all the other embeddings
    perm = rng.permutation(len(x))
    q_idx, g_idx = perm[:args.check_queries], perm[args.check_queries:]
    cases = {
        'leave-one-out': (x[loo_idx], y[loo_idx], None, None),
        'query->gallery': (x[q_idx], y[q_idx], x[g_idx], y[g_idx]),
    }
    for name, (q, ql, g, gl) in cases.items():
        t = time.perf_counter()
        ours = retrieval_metrics(
            q, ql, g, gl, ks=args.ks, chunk_size=args.chunk_size)
        ref = brute_force(q, ql, g, gl, args.ks)
        for key, val in ref.items():
            if not np.isclose(ours[key], val, rtol=0, atol=1e-6):
                raise AssertionError(f'{name} {key}: ours {ours[key]} != '
                                     f'brute force {val}')
        print(f'check {name} ({len(q)} queries): OK '
              f'({time.perf_counter() - t:.1f} s) {ours}')


class SearchTimer:
    """Context manager summing the wall time of ``IndexFlatIP.search`` calls
    made inside it (to split the metric's time into search and the rest,
    which is robust to the noise of a shared machine)."""

    def __enter__(self) -> 'SearchTimer':
        self.seconds = 0.0
        self._orig = faiss.IndexFlatIP.search
        timer = self

        def timed_search(index, *args, **kwargs):
            start = time.perf_counter()
            try:
                return timer._orig(index, *args, **kwargs)
            finally:
                timer.seconds += time.perf_counter() - start

        faiss.IndexFlatIP.search = timed_search
        return self

    def __exit__(self, *exc) -> None:
        faiss.IndexFlatIP.search = self._orig


def main() -> None:
    args = parse_args()
    if args.threads is not None:
        faiss.omp_set_num_threads(args.threads)
    x, y = make_problem(args)
    if args.check:
        check(args, x, y)

    counts = np.bincount(y)
    max_r = int(counts.max()) - 1
    k = min(max(max(args.ks), max_r), args.num - 1) + 1
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    print(f'problem: {args.num} x {args.dim}, {args.classes} classes '
          f'(sizes {counts.min()}-{counts.max()}, mean {counts.mean():.2f}),'
          f' Ks {args.ks}; search depth k = {k}; faiss {faiss.__version__}, '
          f'{faiss.omp_get_max_threads()} OpenMP threads, chunk '
          f'{args.chunk_size} (metric) / none (knn)')

    t_knn, t_metric, t_rest = [], [], []
    for rep in range(args.repeat):
        t = time.perf_counter()
        index = faiss.IndexFlatIP(args.dim)
        index.add(xn)
        index.search(xn, k)
        t_knn.append(time.perf_counter() - t)
        del index

        with SearchTimer() as search:
            t = time.perf_counter()
            metrics = retrieval_metrics(
                x, y, ks=args.ks, chunk_size=args.chunk_size)
            t_metric.append(time.perf_counter() - t)
        t_rest.append(t_metric[-1] - search.seconds)
        print(
            f'run {rep}: knn {t_knn[-1]:.2f} s, metric '
            f'{t_metric[-1]:.2f} s (its faiss searches {search.seconds:.2f}'
            f' s, everything else {t_rest[-1]:.2f} s)',
            flush=True)
    print('metrics: ' + ', '.join(
        f'{key}={val:.2f}' if isinstance(val, float) else f'{key}={val}'
        for key, val in metrics.items()))
    ratio = min(t_metric) / min(t_knn)
    print(f'knn search (best of {args.repeat}): {min(t_knn):.2f} s; '
          f'full metric (best of {args.repeat}): {min(t_metric):.2f} s; '
          f'metric time outside faiss search (best): {min(t_rest):.2f} s '
          f'= {100 * min(t_rest) / min(t_knn):.1f}% of the knn search')
    print(f'RESULT eval_over_knn={ratio:.3f}')


if __name__ == '__main__':
    main()
