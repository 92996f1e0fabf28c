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

from mmengine.config import DictAction

from gcahng.apis import (INDEX_KINDS, USER_ERRORS, ImageSearcher,
                         resolve_images)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog='embed.py', description=__doc__.split('\n')[0])
    parser.add_argument('config', help='the model\'s config file')
    parser.add_argument('checkpoint', help='the model\'s checkpoint')
    parser.add_argument('input', help='a folder of images or an image')
    parser.add_argument(
        '--out', required=True, help='the embeddings file (.npz)')
    parser.add_argument('--index', help='also write an index here (.npz)')
    parser.add_argument(
        '--index-type', choices=INDEX_KINDS, default='flat')
    parser.add_argument('--nlist', type=int, help='IVF cells')
    parser.add_argument('--device', help='cpu, cuda, cuda:1 (default: auto)')
    parser.add_argument('--batch-size', type=int)
    parser.add_argument('--num-workers', type=int)
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, xxx=yyy format')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Embed and write; returns a summary (counts, files)."""
    args = parse_args(argv)
    try:
        searcher = ImageSearcher(
            args.config,
            args.checkpoint,
            device=args.device,
            batch_size=args.batch_size,
            num_workers=args.num_workers,
            cfg_options=args.cfg_options)
        items, labels = resolve_images(args.input)
        emb = searcher.embed(items)
    except USER_ERRORS as err:
        raise SystemExit(f'embed.py: {err}') from None
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
    main()
