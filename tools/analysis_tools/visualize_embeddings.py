"""t-SNE of test embeddings and of CACAI's synthetic negatives (Fig. 4).

``python tools/analysis_tools/visualize_embeddings.py CONFIG CHECKPOINT``

Writes to ``--out-dir`` (default ``<work dir>/analysis/visualize_embeddings``):

- ``test_tsne.png`` / ``test_tsne.csv``: t-SNE of the L2-normalised test
  embeddings of a few classes (``--classes`` labels or the first
  ``--num-classes``), one CSV row per point;
- for a GCA-HNG checkpoint, ``batch_tsne.png`` / ``batch_tsne.csv``: one
  training batch (the config's balanced train dataloader) and the synthetic
  negatives that the graph head and CACAI generate for it at the
  checkpoint's hardness η, t-SNE fitted jointly on both. Real embeddings
  are circles coloured by class; a synthetic negative ``S_a[n, m]`` is an
  ``x`` coloured by the class ``n`` of the anchor it was generated for
  (the CSV also gives its target class ``m``);
- ``summary.json``: counts, η, and the mean cosine similarity of each
  anchor to its synthetic negatives vs. to the real samples they come from.

A baseline checkpoint (no graph head) gets the test plot only.
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional, Sequence

import numpy as np
import torch

import gcahng  # noqa: F401  (registries, safe checkpoint globals)
from gcahng.apis import builders as ana
from gcahng.apis.cli import add_analysis_arguments
from gcahng.evaluation import as_embeddings
from gcahng.utils import result_files, run_tool
from gcahng.visualization import figures

TOOL = 'visualize_embeddings'


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command line of the tool."""
    parser = argparse.ArgumentParser(
        prog='visualize_embeddings.py',
        description='t-SNE of test embeddings and, for GCA-HNG, of one '
        'training batch with its CACAI synthetic negatives (paper Fig. 4).')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        '--classes',
        type=int,
        nargs='+',
        help='test-set labels (gt_label) to plot')
    group.add_argument(
        '--num-classes',
        type=int,
        default=10,
        help='plot the first K test classes (default: 10)')
    parser.add_argument(
        '--max-per-class',
        type=int,
        default=None,
        help='at most this many test images per class')
    parser.add_argument(
        '--batch-classes',
        type=int,
        default=8,
        help='plot the real and synthetic points of the first K class '
        'slots of the training batch (default: 8; 0 = all)')
    parser.add_argument(
        '--no-batch',
        action='store_true',
        help='skip the training-batch / synthetic-negative plot')
    parser.add_argument(
        '--no-normalize',
        action='store_true',
        help='t-SNE on raw embeddings instead of L2-normalised ones')
    parser.add_argument('--perplexity', type=float, default=30.0)
    parser.add_argument(
        '--tsne-iters',
        type=int,
        default=None,
        help='t-SNE iterations (scikit-learn default 1000, at least 250)')
    parser.add_argument('--seed', type=int, default=0)
    add_analysis_arguments(parser, TOOL)
    return parser.parse_args(argv)


def _maybe_normalize(x: np.ndarray, normalize: bool) -> np.ndarray:
    return as_embeddings(x) if normalize else np.asarray(x, np.float32)


def select_classes(labels: np.ndarray, classes: Optional[List[int]],
                   num_classes: int) -> List[int]:
    """The labels to plot: ``classes`` (checked) or the first
    ``num_classes`` labels present."""
    present = sorted(set(labels.tolist()))
    if classes:
        unknown = [c for c in classes if c not in present]
        if unknown:
            raise ana.AnalysisError(
                f'--classes {unknown} not in the test set (labels '
                f'{present[0]}..{present[-1]})')
        return list(dict.fromkeys(classes))
    if num_classes < 1:
        raise ana.AnalysisError('--num-classes must be >= 1')
    return present[:num_classes]


def plot_test(args, cfg, model, out_dir: str, summary: dict) -> None:
    """t-SNE of the chosen classes' test embeddings."""
    dataset = ana.build_dataset(cfg, 'test')
    labels = ana.dataset_labels(dataset)
    chosen = select_classes(labels, args.classes, args.num_classes)
    indices = []
    for c in chosen:
        idx = np.flatnonzero(labels == c)
        indices.extend(idx[:args.max_per_class].tolist())
    print(f'Embedding {len(indices)} test images of {len(chosen)} classes')
    emb = ana.extract_embeddings(
        model, dataset, indices, batch_size=args.batch_size)
    xy = figures.tsne_2d(
        _maybe_normalize(emb, not args.no_normalize), args.seed,
        args.perplexity, args.tsne_iters)
    names = ana.class_names(dataset)
    is_query = ana.query_mask(dataset)
    rows = []
    for i, idx in enumerate(indices):
        row = dict(
            index=idx,
            label=int(labels[idx]),
            class_name=names[labels[idx]] if names else '',
            x=float(xy[i, 0]),
            y=float(xy[i, 1]))
        if is_query is not None:
            row['is_query'] = bool(is_query[idx])
        rows.append(row)
    result_files.write_csv(osp.join(out_dir, 'test_tsne.csv'), rows)

    plt = figures.get_pyplot()
    colours = figures.class_colours(len(chosen))
    fig, ax = plt.subplots(figsize=(7, 6))
    point_labels = labels[indices]
    for k, c in enumerate(chosen):
        sel = point_labels == c
        name = f'{c}: {names[c]}' if names else str(c)
        ax.scatter(
            xy[sel, 0],
            xy[sel, 1],
            s=18,
            color=colours[k],
            label=name if len(chosen) <= 20 else None)
    ax.set_title(f'Test embeddings, t-SNE ({len(indices)} images, '
                 f'{len(chosen)} classes)')
    ax.set_xticks([])
    ax.set_yticks([])
    if len(chosen) <= 20:
        ax.legend(fontsize=7, loc='center left', bbox_to_anchor=(1.0, 0.5))
    figures.save_figure(fig, osp.join(out_dir, 'test_tsne.png'))
    summary['test'] = dict(
        classes=chosen,
        num_points=len(indices),
        png='test_tsne.png',
        csv='test_tsne.csv')


def is_generator_model(model) -> bool:
    """Whether ``model`` is a GCA-HNG model that synthesises negatives."""
    from gcahng.models.retrievers.gcahng import GCAHNG
    return isinstance(model, GCAHNG) and bool(model.generate)


@torch.no_grad()
def synthesize_batch(model, cfg, seed: int) -> dict:
    """One balanced training batch, its embeddings and CACAI negatives
    (:meth:`GCAHNG.hard_negatives`, as in training).

    The model is in eval mode (BatchNorm running statistics, no dropout in
    the graph head), so ``λ`` is symmetric; the fusion weights ``u`` come
    from a generator seeded with ``seed``. ``z`` is the view the graph head
    and CACAI work on (:meth:`GCAHNG.hng_view`).

    Returns:
        dict: ``z [B, D]``, ``labels [B]``, ``synthetic [M, N, N, D]``,
        ``N``, ``M`` and the hardness ``eta``.
    """
    loader = ana.build_dataloader(cfg, 'train', seed=seed)
    data = model.data_preprocessor(next(iter(loader)), False)
    z = model.hng_view(model.extract_feat(data['inputs']).float())
    labels = torch.cat(
        [ds.gt_label.reshape(-1) for ds in data['data_samples']]).to(z.device)
    gen = torch.Generator().manual_seed(seed)
    try:
        synthetic = model.hard_negatives(z, labels, generator=gen).synthetic
    except ValueError as err:  # not N x M in group order
        raise ana.AnalysisError(f'train_dataloader: {err}') from None
    m, n = synthetic.shape[:2]
    return dict(
        z=z.cpu().numpy(),
        labels=labels.cpu().numpy(),
        synthetic=synthetic.float().cpu().numpy(),
        N=n,
        M=m,
        eta=model.hardness)


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarity along the last axis."""
    a = a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=-1, keepdims=True), 1e-12)
    return (a * b).sum(-1)


def plot_batch(args, cfg, model, out_dir: str, summary: dict) -> None:
    """Joint t-SNE of a training batch and its synthetic negatives."""
    batch = synthesize_batch(model, cfg, args.seed)
    z, labels, syn = batch['z'], batch['labels'], batch['synthetic']
    n, m = batch['N'], batch['M']
    k = n if args.batch_classes in (None, 0) else min(args.batch_classes, n)
    if k < 2:
        raise ana.AnalysisError('--batch-classes must be >= 2')
    d = z.shape[1]
    groups = z.reshape(m, n, d)

    rows, points = [], []
    for g in range(m):
        for s in range(k):
            rows.append(
                dict(
                    kind='real',
                    label=int(labels[s]),
                    anchor_label=int(labels[s]),
                    group=g,
                    slot=s,
                    target_slot=s))
            points.append(groups[g, s])
    for a in range(m):
        for s in range(k):
            for t in range(k):
                if t == s:  # S_a[n, n] is a same-class sample, no negative
                    continue
                rows.append(
                    dict(
                        kind='synthetic',
                        label=int(labels[t]),
                        anchor_label=int(labels[s]),
                        group=a,
                        slot=s,
                        target_slot=t))
                points.append(syn[a, s, t])
    points = np.stack(points)
    xy = figures.tsne_2d(
        _maybe_normalize(points, not args.no_normalize), args.seed,
        args.perplexity, args.tsne_iters)
    for row, p in zip(rows, xy):
        row['x'], row['y'] = float(p[0]), float(p[1])
    result_files.write_csv(osp.join(out_dir, 'batch_tsne.csv'), rows)

    # how hard are the negatives: cos(anchor, S_a[n, m]) vs. the mean
    # cos(anchor, z_{g, m}) of the real samples of class m they come from
    anchors = np.broadcast_to(groups[:, :, None], syn.shape)
    off = ~np.eye(n, dtype=bool)[None].repeat(m, 0)
    cos_syn = _cos(anchors, syn)[off]
    cos_real = np.stack([
        _cos(anchors, np.broadcast_to(groups[g][None, None], syn.shape))
        for g in range(m)
    ]).mean(0)[off]

    plt = figures.get_pyplot()
    colours = figures.class_colours(k)
    kinds = np.array([r['kind'] for r in rows])
    anchor_slot = np.array([r['slot'] for r in rows])
    fig, ax = plt.subplots(figsize=(8, 6.5))
    for s in range(k):
        sel = (kinds == 'synthetic') & (anchor_slot == s)
        ax.scatter(
            xy[sel, 0],
            xy[sel, 1],
            marker='x',
            s=16,
            linewidths=0.9,
            alpha=0.6,
            color=colours[s])
    for s in range(k):
        sel = (kinds == 'real') & (anchor_slot == s)
        ax.scatter(
            xy[sel, 0],
            xy[sel, 1],
            marker='o',
            s=55,
            edgecolors='black',
            linewidths=0.8,
            color=colours[s],
            label=f'class {int(labels[s])}')
    from matplotlib.lines import Line2D
    handles, _ = ax.get_legend_handles_labels()
    handles = [
        Line2D([], [],
               marker='o',
               ls='',
               color='grey',
               markeredgecolor='black',
               label='real embedding (colour: its class)'),
        Line2D([], [],
               marker='x',
               ls='',
               color='grey',
               label='synthetic negative (colour: class of its anchor)'),
    ] + handles
    ax.legend(
        handles=handles,
        fontsize=7,
        loc='center left',
        bbox_to_anchor=(1.0, 0.5))
    ax.set_title(f'Training batch ({n}x{m}, {k} classes shown) and CACAI '
                 f'negatives, eta = {batch["eta"]:.3f}')
    ax.set_xticks([])
    ax.set_yticks([])
    figures.save_figure(fig, osp.join(out_dir, 'batch_tsne.png'))
    summary['batch'] = dict(
        N=n,
        M=m,
        classes_shown=k,
        batch_labels=labels[:n].tolist(),
        num_real=int((kinds == 'real').sum()),
        num_synthetic=int((kinds == 'synthetic').sum()),
        eta=batch['eta'],
        mean_cos_anchor_synthetic=float(cos_syn.mean()),
        mean_cos_anchor_source_real=float(cos_real.mean()),
        png='batch_tsne.png',
        csv='batch_tsne.csv')


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Run the tool; returns the summary it writes to ``summary.json``."""
    args = parse_args(argv)
    cfg = ana.load_config(args.config, args.cfg_options)
    out_dir = args.out_dir or ana.default_out_dir(cfg, args.config, TOOL,
                                                  args.work_dir)
    model = ana.build_model(cfg, args.checkpoint, args.device, args.config)
    summary = dict(
        config=args.config,
        checkpoint=args.checkpoint,
        model=type(model).__name__,
        normalized=not args.no_normalize)
    plot_test(args, cfg, model, out_dir, summary)
    if args.no_batch:
        pass
    elif is_generator_model(model):
        plot_batch(args, cfg, model, out_dir, summary)
    else:
        summary['note'] = (
            f'{type(model).__name__} checkpoint without a graph head / '
            'CACAI generator: only the test-embedding plot is made')
        print(summary['note'])
    result_files.write_json(osp.join(out_dir, 'summary.json'), summary)
    print(f'Results written to {out_dir}')
    summary['out_dir'] = out_dir
    return summary


if __name__ == '__main__':
    run_tool(lambda: main(sys.argv[1:]))
