"""Search a gallery of images with a trained model.

    python tools/retrieve.py CONFIG CHECKPOINT --gallery DIR_or_INDEX \
        --query DIR_or_IMAGE [-k 10] [--out-dir DIR] [--save-index PATH] \
        [--rerank qe|dba|k_reciprocal]

``--gallery`` is a folder of images (labels from its class folders, when
every image is in one) or an index saved by ``--save-index`` /
``tools/embed.py --index`` (refused when another model built it).
``--query`` is an image or a folder (labels likewise). ``--rerank``
re-ranks the exact search (flat index): α-QE, α-DBA or k-reciprocal
re-ranking (docs/reranking.md); the scores are then the re-ranker's.
Writes to ``--out-dir``:

- ``results.json``: every query with its top-k paths, cosine scores and
  labels (and ``correct`` flags and R@1 / R@k when both sides have labels);
- ``results.csv``: one row per (query, rank);
- ``report.html``: a static page, one row per query: the query, then its
  top-k with their scores, framed green (same label) or red (other label)
  when labels are known, grey otherwise; thumbnails in ``thumbs/``, each
  linking to the original image;
- ``grid.png``: the first ``--grid-queries`` rows of the report as one image.
"""
import argparse
import csv
import html
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence
from urllib.parse import quote

from gcahng.apis import INDEX_KINDS, SearchResult
from gcahng.apis.cli import add_model_arguments, searcher_from_args
from gcahng.evaluation.rerankers import RERANK_ALIASES
from gcahng.utils import UserError, run_tool

CORRECT, WRONG, UNKNOWN, QUERY = '#1a9850', '#d73027', '#9e9e9e', '#4575b4'


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog='retrieve.py', description=__doc__.split('\n')[0])
    add_model_arguments(parser)
    parser.add_argument(
        '--gallery',
        required=True,
        help='a folder of images or a saved index (.npz)')
    parser.add_argument(
        '--query', required=True, help='an image or a folder of images')
    parser.add_argument('-k', type=int, default=10, help='results per query')
    parser.add_argument(
        '--out-dir', default='retrieval', help='where the results go')
    parser.add_argument(
        '--save-index', help='save the gallery index built from a folder')
    parser.add_argument(
        '--index-type',
        choices=INDEX_KINDS,
        default='flat',
        help='index of a gallery folder: exact (flat) or faiss IVF / HNSW')
    parser.add_argument(
        '--rerank',
        choices=('none', ) + tuple(RERANK_ALIASES),
        default='none',
        help='re-rank the results: alpha query expansion, database-side '
        'augmentation or k-reciprocal re-ranking (default none)')
    parser.add_argument(
        '--thumb-size', type=int, default=128, help='thumbnail pixels')
    parser.add_argument(
        '--grid-queries',
        type=int,
        default=16,
        help='queries shown in grid.png')
    return parser.parse_args(argv)


def summary(results: List[SearchResult]) -> Dict[str, float]:
    """R@1 and R@k (percent) over the queries with labels on both sides."""
    scored = [r for r in results if r.correct is not None]
    if not scored:
        return {}
    k = len(scored[0].correct)
    return {
        'R@1': 100.0 * sum(r.correct[0] for r in scored) / len(scored),
        f'R@{k}': 100.0 * sum(any(r.correct) for r in scored) / len(scored),
        'num_queries': len(scored),
    }


def write_csv(path: str, results: List[SearchResult]) -> None:
    with open(path, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow([
            'query', 'query_label', 'rank', 'path', 'score', 'label', 'correct'
        ])
        for r in results:
            for rank, (p, s) in enumerate(zip(r.paths, r.scores), 1):
                label = '' if r.labels is None else r.labels[rank - 1]
                correct = '' if r.correct is None else int(r.correct[rank - 1])
                writer.writerow([
                    r.query, '' if r.query_label is None else r.query_label,
                    rank, p, f'{s:.6f}', label, correct
                ])


class Thumbnails:
    """One JPEG thumbnail per image shown, under ``<out_dir>/thumbs``."""

    def __init__(self, out_dir: str, size: int) -> None:
        self.out_dir = out_dir
        self.size = size
        self.names: Dict[str, str] = {}
        os.makedirs(osp.join(out_dir, 'thumbs'), exist_ok=True)

    def __call__(self, path: str) -> str:
        """The thumbnail of ``path``, relative to ``out_dir``."""
        if path not in self.names:
            from PIL import Image
            rel = osp.join('thumbs', f'{len(self.names):06d}.jpg')
            with Image.open(path) as img:
                img = img.convert('RGB')
                img.thumbnail((self.size, self.size))
                img.save(osp.join(self.out_dir, rel), quality=85)
            self.names[path] = rel
        return self.names[path]


def colour(result: SearchResult, rank: int) -> str:
    if result.correct is None:
        return UNKNOWN
    return CORRECT if result.correct[rank] else WRONG


def link(out_dir: str, path: str) -> str:
    """``path`` as a URL relative to the report."""
    return quote(osp.relpath(osp.abspath(path), out_dir).replace(os.sep, '/'))


def write_html(path: str,
               results: List[SearchResult],
               thumbs: Thumbnails,
               title: str,
               scores: Dict[str, float],
               score_name: str = 'cos') -> None:
    out_dir = osp.dirname(osp.abspath(path))

    def cell(img: str, border: str, caption: str) -> str:
        return (f'<td><a href="{link(out_dir, img)}"><img src="'
                f'{quote(thumbs(img))}" style="border:4px solid {border}"'
                f' title="{html.escape(img)}"></a><br>{caption}</td>')

    rows = []
    for r in results:
        label = '' if r.query_label is None else \
            f'<br>label {html.escape(str(r.query_label))}'
        cells = [
            cell(r.query, QUERY,
                 f'query{label}<br>{html.escape(osp.basename(r.query))}')
        ]
        for rank, (p, s) in enumerate(zip(r.paths, r.scores)):
            lab = '' if r.labels is None else \
                f'<br>label {html.escape(str(r.labels[rank]))}'
            cells.append(
                cell(p, colour(r, rank),
                     f'#{rank + 1} {score_name} {s:.3f}{lab}'))
        rows.append('<tr>' + ''.join(cells) + '</tr>')
    score_line = ', '.join(
        f'{k} {v:.1f}' if isinstance(v, float) else f'{k} {v}'
        for k, v in scores.items())
    legend = ('green: same label as the query, red: another label'
              if scores else 'no labels on both sides: grey frames')
    page = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif}} td{{text-align:center;
vertical-align:top;font-size:11px;padding:3px}}</style></head>
<body><h1>{html.escape(title)}</h1>
<p>{len(results)} queries; {legend}. {score_line}</p>
<table>
{chr(10).join(rows)}
</table></body></html>
"""
    with open(path, 'w', encoding='utf-8') as f:
        f.write(page)


def write_grid(path: str, results: List[SearchResult], thumbs: Thumbnails,
               size: int) -> None:
    """Thumbnails of the first queries and their top-k in one PNG."""
    from PIL import Image, ImageDraw
    if not results:
        return
    k = max(len(r.paths) for r in results)
    pad, border = 6, 4
    cell = size + 2 * border + pad
    grid = Image.new('RGB', (cell * (k + 1) + pad, cell * len(results) + pad),
                     'white')
    draw = ImageDraw.Draw(grid)
    for row, r in enumerate(results):
        shown = [(r.query, QUERY)] + [(p, colour(r, i))
                                      for i, p in enumerate(r.paths)]
        for col, (img_path, frame) in enumerate(shown):
            x, y = pad + col * cell, pad + row * cell
            draw.rectangle(
                [x, y, x + size + 2 * border - 1, y + size + 2 * border - 1],
                fill=frame)
            with Image.open(osp.join(thumbs.out_dir, thumbs(img_path))) as img:
                img = img.convert('RGB')
                grid.paste(img,
                           (x + border + (size - img.width) // 2, y + border +
                            (size - img.height) // 2))
    grid.save(path)


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Run the search and write the report; returns ``results.json``'s
    content."""
    args = parse_args(argv)
    if args.k < 1:
        raise UserError('-k must be >= 1')
    searcher = searcher_from_args(args, rerank=args.rerank)
    if osp.isfile(args.gallery):
        searcher.load_index(args.gallery)
    elif osp.isdir(args.gallery):
        searcher.build_index(args.gallery, kind=args.index_type)
        if args.save_index:
            searcher.save_index(args.save_index)
    else:
        raise FileNotFoundError(
            f'--gallery {args.gallery}: no such folder or index file')
    results = searcher.search(args.query, k=args.k)
    os.makedirs(args.out_dir, exist_ok=True)
    scores = summary(results)
    content = dict(
        config=args.config,
        checkpoint=args.checkpoint,
        gallery=args.gallery,
        gallery_size=len(searcher.index),
        index=searcher.index.kind,
        rerank=args.rerank,
        k=args.k,
        metrics=scores,
        queries=[r.to_dict() for r in results])
    with open(osp.join(args.out_dir, 'results.json'), 'w') as f:
        json.dump(content, f, indent=2)
    write_csv(osp.join(args.out_dir, 'results.csv'), results)
    thumbs = Thumbnails(args.out_dir, args.thumb_size)
    write_html(
        osp.join(args.out_dir, 'report.html'), results, thumbs,
        f'Top-{args.k} of {len(results)} queries in {args.gallery}', scores,
        'cos' if args.rerank == 'none' else 'score')
    write_grid(
        osp.join(args.out_dir, 'grid.png'), results[:args.grid_queries],
        thumbs, args.thumb_size)
    print(f'{len(results)} queries searched in {len(searcher.index)} gallery '
          f'images; results in {args.out_dir} (report.html)')
    return content


if __name__ == '__main__':
    run_tool(main)
