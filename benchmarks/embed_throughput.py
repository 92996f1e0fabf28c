"""Images/s of ``ImageSearcher.embed`` against the bare loop it wraps, and
single-query search through ``ImageSearcher`` against bare faiss.

Over one folder of images, with the same model, test pipeline, data
preprocessor, batch size and loader workers, times interleaved
``--repeat`` times:

- ``embed``: :meth:`gcahng.apis.ImageSearcher.embed` on the folder (file
  listing, the API's dataset and ``DataLoader``, the preprocessor,
  ``EmbeddingModel`` (backbone, neck, L2 normalisation), copies to numpy);
- ``bare``: a plain ``DataLoader`` over the same paths through the same
  pipeline (``mmengine.dataset.Compose``), ``model.data_preprocessor`` and
  ``model(inputs, mode='tensor')``.

The ratio uses the fastest run of each (the machine may be shared;
``--clock cpu`` times this process's CPU time instead); it is printed as
``RESULT embed_over_bare=<embed time / bare time>`` (1.0: no cost; the goal
is <= 1.10).

Search: ``--search-queries`` single-query searches (``k = --topk``) of a
random ``--gallery-size`` x ``--dim`` gallery (L2-normalised, seeded)
through ``ImageSearcher.search_embeddings`` (its flat ``GalleryIndex``,
the ``SearchResult`` objects included) and through a bare faiss
``IndexFlatIP`` holding the same vectors, timed interleaved ``--repeat``
times; the last line is ``RESULT search_over_faiss=<searcher time / faiss
time>`` (the goal is <= 1.10). Without ``--folder``, ``--num-images`` copies
of the test fixtures (``tests/data/retrieval_images``) resized to
``--image-size`` are written to a temporary folder. Without
``--checkpoint`` the model keeps its initialisation (speed does not depend
on the weights); ``model.backbone.pretrained`` is switched off then.

Example::

    python benchmarks/embed_throughput.py \
        --config configs/gcahng/r50_pa_csv.py --num-images 512 \
        --batch-size 64 --workers 4 --device cuda

On a CPU shared with other work, ``--workers 0 --threads 1 --clock cpu``
gives a steady ratio.
"""
import argparse
import os.path as osp
import tempfile
import time
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.dataset import Compose, pseudo_collate
from torch.utils.data import DataLoader

from gcahng.apis import ImageSearcher
from gcahng.datasets.csv_dataset import find_images

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
FIXTURES = osp.join(REPO, 'tests', 'data', 'retrieval_images')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--config', default=osp.join(REPO, 'configs/gcahng/r50_pa_csv.py'))
    parser.add_argument('--checkpoint')
    parser.add_argument('--folder', help='images to embed')
    parser.add_argument('--num-images', type=int, default=256)
    parser.add_argument('--image-size', type=int, default=256)
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--workers', type=int, default=2)
    parser.add_argument('--device', default=None)
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument(
        '--threads', type=int, help='torch intra-op threads (default: torch)')
    parser.add_argument(
        '--clock',
        choices=['wall', 'cpu'],
        default='wall',
        help='wall-clock time, or this process\'s CPU time (for a CPU run '
        'with --workers 0 on a busy machine)')
    parser.add_argument(
        '--crop',
        type=int,
        help='test crop size (default: the config\'s); the resize follows '
        'as crop * 8 / 7')
    parser.add_argument(
        '--gallery-size',
        type=int,
        default=100000,
        help='search: gallery embeddings')
    parser.add_argument(
        '--dim', type=int, default=128, help='search: embedding size')
    parser.add_argument(
        '--search-queries',
        type=int,
        default=200,
        help='search: single-query searches per timing')
    parser.add_argument(
        '--topk', type=int, default=10, help='search: results per query')
    return parser.parse_args(argv)


def make_folder(root: str, num: int, size: int) -> str:
    """``num`` JPEGs made from the fixtures, ``size`` pixels."""
    from PIL import Image
    sources = find_images(FIXTURES)
    for i in range(num):
        with Image.open(sources[i % len(sources)]) as img:
            img = img.convert('RGB').resize((size, size), Image.BILINEAR)
            img.save(osp.join(root, f'{i:06d}.jpg'), quality=90)
    return root


class _Paths(torch.utils.data.Dataset):

    def __init__(self, paths: List[str], pipeline: List[dict]) -> None:
        self.paths = paths
        self.pipeline = Compose(pipeline)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> dict:
        return self.pipeline(dict(img_path=self.paths[i]))


@torch.no_grad()
def bare_loop(searcher: ImageSearcher, paths: List[str], batch_size: int,
              workers: int) -> int:
    model = searcher.model
    loader = DataLoader(
        _Paths(paths, searcher.pipeline),
        batch_size=batch_size,
        num_workers=workers,
        collate_fn=pseudo_collate)
    count = 0
    for data in loader:
        inputs = model.data_preprocessor(data, False)['inputs']
        count += len(model(inputs, mode='tensor'))
    if searcher.device.type == 'cuda':
        torch.cuda.synchronize()
    return count


def timed(fn, clock: str = 'wall') -> float:
    """Seconds ``fn`` takes: wall clock, or CPU time of this process (all
    its threads; steady on a shared machine, meaningful with
    ``--workers 0`` on the CPU)."""
    now = time.perf_counter if clock == 'wall' else time.process_time
    start = now()
    fn()
    return now() - start


def search_times(searcher: ImageSearcher,
                 args: argparse.Namespace) -> Dict[str, List[float]]:
    """Seconds of ``--search-queries`` single-query searches through the
    searcher and through bare faiss on the same vectors, ``--repeat``
    times each, interleaved."""
    import faiss
    rng = np.random.default_rng(0)
    gallery = rng.standard_normal((args.gallery_size, args.dim))
    gallery = (gallery / np.linalg.norm(gallery, axis=1, keepdims=True))
    gallery = np.ascontiguousarray(gallery, dtype=np.float32)
    queries = gallery[rng.integers(0, len(gallery), args.search_queries)]
    queries = queries + np.float32(0.1) * rng.standard_normal(
        queries.shape, dtype=np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    singles = [queries[i:i + 1] for i in range(len(queries))]
    searcher.index_embeddings(gallery,
                              [f'{i}.jpg' for i in range(len(gallery))])
    bare = faiss.IndexFlatIP(args.dim)
    bare.add(gallery)

    def ours() -> None:
        for q in singles:
            searcher.search_embeddings(q, args.topk)

    def theirs() -> None:
        for q in singles:
            bare.search(q, args.topk)

    ours(), theirs()  # warm-up (the index is built on its first search)
    same = searcher.search_embeddings(singles[0], args.topk)[0].indices
    assert same == bare.search(singles[0], args.topk)[1][0].tolist()
    times = dict(searcher=[], faiss=[])
    for _ in range(args.repeat):
        times['searcher'].append(timed(ours, args.clock))
        times['faiss'].append(timed(theirs, args.clock))
    return times


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, float]:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
        import faiss
        faiss.omp_set_num_threads(args.threads)
    options = {}
    if args.checkpoint is None:
        options['model.backbone.pretrained'] = None
    if args.crop:
        options.update({
            'test_dataloader.dataset.pipeline.1.scale':
            args.crop * 8 // 7,
            'test_dataloader.dataset.pipeline.2.crop_size':
            args.crop
        })
    searcher = ImageSearcher(
        args.config,
        args.checkpoint,
        device=args.device,
        batch_size=args.batch_size,
        num_workers=args.workers,
        amp=False,
        cfg_options=options,
        progress=False)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.folder or make_folder(tmp, args.num_images,
                                            args.image_size)
        paths = find_images(folder)
        print(f'{len(paths)} images, batch {args.batch_size}, '
              f'{args.workers} workers, {searcher.device}, '
              f'{osp.basename(args.config)}, {args.clock} clock')
        searcher.embed(paths[:args.batch_size])  # warm-up
        bare_loop(searcher, paths[:args.batch_size], args.batch_size,
                  args.workers)
        times = dict(embed=[], bare=[])
        for _ in range(args.repeat):
            times['embed'].append(
                timed(lambda: searcher.embed(folder), args.clock))
            times['bare'].append(
                timed(
                    lambda: bare_loop(searcher, paths, args.batch_size, args.
                                      workers), args.clock))
    best = {k: min(v) for k, v in times.items()}
    for name, t in best.items():
        print(f'{name:6s} {len(paths) / t:8.1f} images/s (best of '
              f'{args.repeat}: {t:.3f} s; all: '
              f'{", ".join(f"{x:.3f}" for x in times[name])})')
    ratio = best['embed'] / best['bare']
    print(f'RESULT embed_over_bare={ratio:.3f}')
    search = {k: min(v) for k, v in search_times(searcher, args).items()}
    for name, t in search.items():
        print(f'search via {name:8s} {1e3 * t / args.search_queries:8.3f} '
              f'ms per query (best of {args.repeat}; {args.gallery_size} x '
              f'{args.dim} gallery, k={args.topk})')
    search_ratio = search['searcher'] / search['faiss']
    print(f'RESULT search_over_faiss={search_ratio:.3f}')
    return dict(
        ratio=ratio,
        search_ratio=search_ratio,
        **best,
        **{
            f'search_{k}': v
            for k, v in search.items()
        })


if __name__ == '__main__':
    main()
