"""Time and memory of each re-ranking in the retrieval metric at SOP size.

On the seeded SOP-size leave-one-out problem of ``eval_speed.py`` (default
60,502 x 512 float32, 11,316 classes of 2-12 images, class-clustered
synthetic embeddings: a size, not a real benchmark), runs
:func:`gcahng.evaluation.retrieval_metrics` without re-ranking and with
each re-ranker of ``--rerank`` (docs/reranking.md), one after the other,
and prints for each the wall time, the peak of the memory that numpy and
scipy allocated during the call (``tracemalloc``; faiss's own index, one
``N x D`` copy, is not counted), R@1 and M@R. A dense ``N x N`` float32
matrix would take ``4 N^2`` bytes (14.6 GB at SOP size). The last line is
``RESULT kreciprocal_over_exact=<k-reciprocal time / plain time>``.

Example::

    python benchmarks/rerank_cost.py
"""
import argparse
import os.path as osp
import sys
import time
import tracemalloc
from typing import Dict, Optional, Sequence

from gcahng.evaluation import retrieval_metrics

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from eval_speed import add_problem_arguments, make_problem  # noqa: E402


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    add_problem_arguments(parser)
    parser.add_argument(
        '--rerank',
        nargs='+',
        default=['qe', 'dba', 'k_reciprocal'],
        help='re-rankers to run after the plain ranking')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, dict]:
    args = parse_args(argv)
    if args.threads:
        import faiss
        faiss.omp_set_num_threads(args.threads)
    x, y = make_problem(args)
    print(f'{len(x)} x {x.shape[1]} embeddings, {args.classes} classes; a '
          f'dense N x N float32 matrix: {4 * len(x)**2 / 2**30:.1f} GiB')
    results = {}
    for rerank in ['none'] + list(args.rerank):
        tracemalloc.start()
        start = time.perf_counter()
        metrics = retrieval_metrics(x, y, ks=(1, ), rerank=rerank)
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        results[rerank] = dict(
            seconds=seconds,
            peak_mib=peak / 2**20,
            r1=metrics['R@1'],
            map_r=metrics['M@R'])
        print(
            f'{rerank:13s} {seconds:7.1f} s  peak {peak / 2**20:7.0f} MiB'
            f'  R@1 {metrics["R@1"]:6.2f}  M@R {metrics["M@R"]:6.2f}',
            flush=True)
    if 'k_reciprocal' in results:
        ratio = results['k_reciprocal']['seconds'] / results['none']['seconds']
        print(f'RESULT kreciprocal_over_exact={ratio:.2f}')
    return results


if __name__ == '__main__':
    main()
