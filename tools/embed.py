"""Embed images with a trained model and save the embeddings (and index).

    python tools/embed.py CONFIG CHECKPOINT INPUT --out embeddings.npz \
        [--index gallery.index.npz --index-type flat|ivf|hnsw]

``INPUT`` is a folder (every image under it; labels from its class folders
when every image is in one) or an image. ``--out`` is an ``.npz`` with
``embeddings`` (float32 ``[N, D]``, L2-normalised), ``paths``, ``labels``
(when known) and ``identity`` (the model's, JSON): a flat index that
``tools/retrieve.py --gallery`` and ``ImageSearcher.load_index`` read, and
``numpy.load`` too. ``--index`` also writes an index of ``--index-type``
(faiss IVF or HNSW for galleries of millions) from the same embeddings.
Images are embedded batch by batch: memory grows with the embeddings, not
with the images.
"""
import argparse
from typing import Optional, Sequence

from gcahng.apis import INDEX_KINDS, resolve_images
from gcahng.apis.cli import add_model_arguments, searcher_from_args
from gcahng.utils import run_tool


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog='embed.py', description=__doc__.split('\n')[0])
    add_model_arguments(parser)
    parser.add_argument('input', help='a folder of images or an image')
    parser.add_argument(
        '--out', required=True, help='the embeddings file (.npz)')
    parser.add_argument('--index', help='also write an index here (.npz)')
    parser.add_argument('--index-type', choices=INDEX_KINDS, default='flat')
    parser.add_argument('--nlist', type=int, help='IVF cells')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Embed and write; returns a summary (counts, files)."""
    args = parse_args(argv)
    searcher = searcher_from_args(args)
    items, labels = resolve_images(args.input)
    emb = searcher.embed(items)
    searcher.index_embeddings(emb, items, labels).save(args.out)
    print(f'{len(items)} embeddings ({emb.shape[1]}-d) written to {args.out}')
    out = dict(num_images=len(items), dim=int(emb.shape[1]), out=args.out)
    if args.index:
        extra = {} if args.nlist is None else dict(nlist=args.nlist)
        searcher.index_embeddings(
            emb, items, labels, kind=args.index_type, **extra).save(args.index)
        print(f'{args.index_type} index written to {args.index}')
        out['index'] = args.index
    return out


if __name__ == '__main__':
    run_tool(main)
