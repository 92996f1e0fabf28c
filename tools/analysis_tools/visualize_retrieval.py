"""Retrieval results as image grids (paper Fig. 5).

``python tools/analysis_tools/visualize_retrieval.py CONFIG CHECKPOINT
[--compare CONFIG2 CHECKPOINT2] [--queries I ...|--worst K] [--topk 5]``

For each chosen query (``--queries``: dataset indices) or each of the
``--worst K`` queries (lowest MAP@R, then latest first hit, or
``--rank-by first_hit``), one row: the query image, then its top-k gallery
images with a green border when they have the query's class and a red one
otherwise. Leave-one-out datasets rank the whole test set with the query
itself excluded by index; datasets with ``is_query`` flags (InShop) rank
the gallery for each query. With ``--compare`` each query gets one row per
checkpoint (e.g. baseline vs. GCA-HNG); queries are chosen with the first.
Images are the datasets' originals, not the normalised network inputs.

Writes ``retrieval.png``, ``retrieval.csv`` (one row per shown neighbour)
and ``retrieval.json`` (each model's R@K / RP / M@R over the whole test set
and the chosen queries' scores) to ``--out-dir`` (default
``<work dir>/analysis/visualize_retrieval``).
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional, Sequence

import numpy as np

import gcahng  # noqa: F401  (registries, safe checkpoint globals)
from gcahng.apis.builders import (AnalysisError, build_dataset, build_model,
                                  dataset_labels, default_out_dir,
                                  extract_embeddings, load_config, query_mask)
from gcahng.apis.cli import add_analysis_arguments
from gcahng.evaluation import per_query_retrieval, retrieval_metrics
from gcahng.utils import run_tool
from gcahng.utils.result_files import write_csv, write_json
from gcahng.visualization.figures import get_pyplot, raw_image, save_figure

TOOL = 'visualize_retrieval'
CORRECT, WRONG, QUERY = '#1a9850', '#d73027', '#4575b4'


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command line of the tool."""
    parser = argparse.ArgumentParser(
        prog='visualize_retrieval.py',
        description='Top-k retrieval grids of chosen or worst queries, '
        'correct (green) / wrong (red) borders (paper Fig. 5).')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--compare',
        nargs=2,
        metavar=('CONFIG2', 'CHECKPOINT2'),
        help='a second model shown in the row under each query')
    parser.add_argument(
        '--names',
        nargs='+',
        help='row labels of the model(s) (default: model type and '
        'checkpoint name)')
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        '--queries', type=int, nargs='+', help='test-set indices of queries')
    group.add_argument(
        '--worst',
        type=int,
        default=None,
        help='show the K worst queries of the first model (default: 5)')
    parser.add_argument(
        '--rank-by',
        choices=['ap', 'first_hit'],
        default='ap',
        help='"worst" by lowest MAP@R (ties: later first hit) or by the '
        'rank of the first correct item')
    parser.add_argument('--topk', type=int, default=5)
    parser.add_argument(
        '--cell-size', type=float, default=1.4, help='inches per image')
    add_analysis_arguments(
        parser, TOOL, 'override settings of both configs, xxx=yyy format')
    return parser.parse_args(argv)


def evaluator_topk(cfg) -> List[int]:
    """The K of R@K of the config's test evaluator."""
    evaluator = cfg.get('test_evaluator', None) or {}
    if isinstance(evaluator, (list, tuple)):
        evaluator = evaluator[0] if evaluator else {}
    topk = evaluator.get('topk', (1, 2, 4, 8))
    return [topk] if isinstance(topk, int) else list(topk)


def embed_model(config: str, checkpoint: str, args) -> dict:
    """Build one model, embed the config's test set and rank it."""
    cfg = load_config(config, args.cfg_options)
    model = build_model(cfg, checkpoint, args.device, config)
    dataset = build_dataset(cfg, 'test')
    labels = dataset_labels(dataset)
    mask = query_mask(dataset)
    print(f'Embedding {len(dataset)} test images with {checkpoint}')
    emb = extract_embeddings(model, dataset, batch_size=args.batch_size)
    if mask is None:
        q_idx = np.arange(len(dataset))
        g_idx = q_idx
        ranked = per_query_retrieval(emb, labels, topk=args.topk)
        metrics = retrieval_metrics(emb, labels, ks=evaluator_topk(cfg))
    else:
        q_idx, g_idx = np.flatnonzero(mask), np.flatnonzero(~mask)
        if len(q_idx) == 0 or len(g_idx) == 0:
            raise AnalysisError('the test set needs queries and gallery '
                                'items (is_query flags)')
        ranked = per_query_retrieval(emb[q_idx], labels[q_idx], emb[g_idx],
                                     labels[g_idx], args.topk)
        metrics = retrieval_metrics(
            emb[q_idx],
            labels[q_idx],
            emb[g_idx],
            labels[g_idx],
            ks=evaluator_topk(cfg))
    return dict(
        config=config,
        checkpoint=checkpoint,
        model=type(model).__name__,
        cfg=cfg,
        dataset=dataset,
        labels=labels,
        query_indices=q_idx,
        gallery_indices=g_idx,
        ranked=ranked,
        metrics=metrics)


def choose_queries(run: dict, args) -> List[int]:
    """Positions (into ``run['query_indices']``) of the queries to show."""
    q_idx = run['query_indices']
    if args.queries:
        pos = {int(i): p for p, i in enumerate(q_idx)}
        bad = [i for i in args.queries if i not in pos]
        if bad:
            what = ('query' if len(q_idx) < len(run['labels']) else 'test')
            raise AnalysisError(
                f'--queries {bad} are not {what} indices (the test set has '
                f'{len(run["labels"])} images, {len(q_idx)} queries)')
        return [pos[i] for i in args.queries]
    k = 5 if args.worst is None else args.worst
    if k < 1:
        raise AnalysisError('--worst must be >= 1')
    ranked = run['ranked']
    ap = np.nan_to_num(ranked['ap'], nan=np.inf)  # no positives: skip
    late = ranked['first_hit'].astype(np.float64)
    late[late == 0] = np.inf
    if args.rank_by == 'ap':
        order = np.lexsort((-late, ap))
    else:
        order = np.lexsort((ap, -late))
    return order[:min(k, len(order))].tolist()


def model_names(runs: List[dict], names: Optional[List[str]]) -> List[str]:
    """Row labels: ``--names`` or model type + checkpoint file name."""
    if names:
        if len(names) != len(runs):
            raise AnalysisError(f'--names needs {len(runs)} names, got '
                                f'{len(names)}')
        return list(names)
    return [
        f'{r["model"]}\n{osp.basename(r["checkpoint"])}'.replace('.pth', '')
        for r in runs
    ]


def _frame(ax, colour: str, width: float = 4.0) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_edgecolor(colour)
        spine.set_linewidth(width)


def draw_grid(runs: List[dict], names: List[str], positions: List[int], args,
              path: str) -> List[dict]:
    """Draw the grid and return the CSV rows of the shown neighbours."""
    plt = get_pyplot()
    dataset = runs[0]['dataset']
    k = runs[0]['ranked']['indices'].shape[1]
    n_rows = len(positions) * len(runs)
    fig, axes = plt.subplots(
        n_rows,
        k + 1,
        figsize=(args.cell_size * (k + 1), args.cell_size * 1.25 * n_rows),
        squeeze=False,
        layout='constrained')
    rows = []
    cache = {}

    def image(i):
        if i not in cache:
            cache[i] = raw_image(dataset, int(i))
        return cache[i]

    for qi, pos in enumerate(positions):
        for mi, (run, name) in enumerate(zip(runs, names)):
            ranked = run['ranked']
            labels = run['labels']
            query = int(run['query_indices'][pos])
            r = qi * len(runs) + mi
            ax = axes[r, 0]
            ax.imshow(image(query))
            _frame(ax, QUERY)
            ap = ranked['ap'][pos]
            ax.set_title(
                f'query {query}\nclass {labels[query]}',
                fontsize=7,
                color=QUERY)
            ax.set_ylabel(
                f'{name}\nM@R {ap:.0f}' if np.isfinite(ap) else name,
                fontsize=7)
            for j in range(k):
                gallery = int(run['gallery_indices'][ranked['indices'][pos,
                                                                       j]])
                correct = bool(ranked['correct'][pos, j])
                sim = float(ranked['similarities'][pos, j])
                ax = axes[r, j + 1]
                ax.imshow(image(gallery))
                _frame(ax, CORRECT if correct else WRONG)
                ax.set_title(
                    f'#{j + 1} cos {sim:.2f}\nclass {labels[gallery]}',
                    fontsize=7,
                    color=CORRECT if correct else WRONG)
                rows.append(
                    dict(
                        model=name.replace('\n', ' '),
                        query_index=query,
                        query_label=int(labels[query]),
                        rank=j + 1,
                        gallery_index=gallery,
                        gallery_label=int(labels[gallery]),
                        similarity=sim,
                        correct=int(correct)))
    fig.suptitle(
        'Top-%d retrieval (green: same class, red: other class)' % k,
        fontsize=9)
    save_figure(fig, path)
    return rows


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Run the tool; returns what it writes to ``retrieval.json``."""
    args = parse_args(argv)
    if args.topk < 1:
        raise AnalysisError('--topk must be >= 1')
    runs = [embed_model(args.config, args.checkpoint, args)]
    if args.compare:
        runs.append(embed_model(args.compare[0], args.compare[1], args))
        if not np.array_equal(runs[0]['labels'], runs[1]['labels']):
            raise AnalysisError(
                f'--compare: the test sets of {args.config} and '
                f'{args.compare[0]} differ (labels or size); both '
                'models must be evaluated on the same data')
    names = model_names(runs, args.names)
    out_dir = args.out_dir or default_out_dir(runs[0]['cfg'], args.config,
                                              TOOL, args.work_dir)
    positions = choose_queries(runs[0], args)
    rows = draw_grid(runs, names, positions, args,
                     osp.join(out_dir, 'retrieval.png'))
    write_csv(osp.join(out_dir, 'retrieval.csv'), rows)
    result = dict(
        mode='query_gallery' if len(runs[0]['query_indices']) < len(
            runs[0]['labels']) else 'leave_one_out',
        topk=int(runs[0]['ranked']['indices'].shape[1]),
        rank_by=args.rank_by,
        models=[])
    for run, name in zip(runs, names):
        ranked = run['ranked']
        result['models'].append(
            dict(
                name=name.replace('\n', ' '),
                model=run['model'],
                config=run['config'],
                checkpoint=run['checkpoint'],
                metrics=run['metrics'],
                queries=[
                    dict(
                        index=int(run['query_indices'][p]),
                        label=int(run['labels'][run['query_indices'][p]]),
                        ap=float(ranked['ap'][p]),
                        rp=float(ranked['rp'][p]),
                        first_hit_rank=int(ranked['first_hit'][p]),
                        num_relevant=int(ranked['num_relevant'][p]),
                        neighbours=[
                            int(run['gallery_indices'][g])
                            for g in ranked['indices'][p]
                        ]) for p in positions
                ]))
    write_json(osp.join(out_dir, 'retrieval.json'), result)
    print(f'Results written to {out_dir}')
    result['out_dir'] = out_dir
    return result


if __name__ == '__main__':
    run_tool(lambda: main(sys.argv[1:]))
