"""Per-channel distribution of the pooled backbone features (paper Fig. 8).

``python tools/analysis_tools/feature_spread.py CONFIG [CHECKPOINT]
[--pooling avg max avgmax]``

Runs the backbone over a random sample of the test set and pools its last
feature map the way the neck does before ``BatchNorm1d``
(docs/algorithm.md §2; ``EmbeddingNeck.pool``), once per ``--pooling``
variant (default: the neck's own), so one checkpoint compares pooling
variants. Transformer backbones that output ``[B, C]`` (the DINO CLS token)
have one variant, ``none``. Without a checkpoint the config's initial
weights are used (e.g. ImageNet-pretrained, which may download them).

Writes to ``--out-dir`` (default ``<work dir>/analysis/feature_spread``):

- ``channel_stats.csv``: per pooling and channel: mean, std, min, quantiles,
  max, fraction of non-positive values and rank by mean; with the neck's
  BatchNorm1d running mean / std for the neck's own pooling;
- ``spread.png``: per-channel mean (sorted) with a ±std band per pooling;
- ``channels.png``: box (or ``--plot violin``) plots of
  ``--num-box-channels`` channels spread over the sorted order;
- ``summary.json``: per pooling, statistics over channels.
"""
import argparse
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch

import gcahng  # noqa: F401  (registries, safe checkpoint globals)
from gcahng.apis.builders import (AnalysisError, build_dataset, build_model,
                                  default_out_dir, load_config, run_batches)
from gcahng.apis.cli import add_analysis_arguments
from gcahng.models.necks import EmbeddingNeck
from gcahng.utils import run_tool
from gcahng.utils.result_files import write_csv, write_json
from gcahng.visualization.figures import get_pyplot, save_figure

TOOL = 'feature_spread'
POOLINGS = ('avg', 'max', 'avgmax')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command line of the tool."""
    parser = argparse.ArgumentParser(
        prog='feature_spread.py',
        description='Per-channel distribution of pooled backbone features '
        '(before the neck\'s BatchNorm1d) over a test-set sample.')
    parser.add_argument('config', help='config file')
    parser.add_argument(
        'checkpoint',
        nargs='?',
        help='checkpoint file (default: the config\'s initial weights)')
    parser.add_argument(
        '--pooling',
        nargs='+',
        choices=POOLINGS,
        help='pooling variants to compare (default: the neck\'s)')
    parser.add_argument(
        '--num-samples',
        type=int,
        default=512,
        help='test images to sample (default: 512; 0 = all)')
    parser.add_argument(
        '--num-box-channels',
        type=int,
        default=16,
        help='channels in the box/violin plot (default: 16)')
    parser.add_argument('--plot', choices=['box', 'violin'], default='box')
    parser.add_argument('--seed', type=int, default=0)
    add_analysis_arguments(parser, TOOL)
    return parser.parse_args(argv)


def pooled_features(model, dataset, indices: Sequence[int],
                    poolings: Sequence[str],
                    batch_size: int) -> Dict[str, np.ndarray]:
    """``{pooling: [n, C]}`` backbone features pooled like the neck (one
    backbone pass per batch for all variants). ``[B, C]`` backbone outputs
    give ``{'none': ...}``."""
    poolers: Dict[str, EmbeddingNeck] = {}

    def fn(m, inputs):
        feats = m.backbone(inputs)
        x = feats[-1] if isinstance(feats, (tuple, list)) else feats
        if x.dim() == 2:
            return {'none': x.float().cpu()}
        if x.dim() != 4:
            raise AnalysisError('expected a [B, C, H, W] or [B, C] backbone '
                                f'output, got {tuple(x.shape)}')
        out = {}
        for p in poolings:
            if p not in poolers:  # the neck's own pooling code
                poolers[p] = EmbeddingNeck(x.size(1), 1, pooling=p)
            out[p] = poolers[p].pool(x).float().cpu()
        return out

    outs = run_batches(
        model, dataset, fn, indices=indices, batch_size=batch_size)
    return {k: torch.cat([o[k] for o in outs]).numpy() for k in outs[0]}


def channel_stats(x: np.ndarray) -> Dict[str, np.ndarray]:
    """Per-channel statistics of ``x [n, C]``."""
    q = np.quantile(x, [0.05, 0.25, 0.5, 0.75, 0.95], axis=0)
    mean = x.mean(0)
    return dict(
        mean=mean,
        std=x.std(0),
        min=x.min(0),
        q05=q[0],
        q25=q[1],
        median=q[2],
        q75=q[3],
        q95=q[4],
        max=x.max(0),
        frac_nonpositive=(x <= 0).mean(0),
        rank_by_mean=np.argsort(np.argsort(-mean, kind='stable')))


def neck_bn_stats(model) -> Optional[Dict[str, np.ndarray]]:
    """The neck's BatchNorm1d running mean / std, if it has one."""
    bn = getattr(getattr(model, 'neck', None), 'bn', None)
    if bn is None or getattr(bn, 'running_mean', None) is None:
        return None
    return dict(
        bn_running_mean=bn.running_mean.detach().cpu().numpy(),
        bn_running_std=torch.sqrt(bn.running_var +
                                  bn.eps).detach().cpu().numpy())


def plot_spread(stats: Dict[str, Dict[str, np.ndarray]], path: str) -> None:
    """Sorted per-channel mean with a ±std band, one line per pooling."""
    plt = get_pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for name, s in stats.items():
        order = np.argsort(-s['mean'], kind='stable')
        mean, std = s['mean'][order], s['std'][order]
        xs = np.arange(len(mean))
        ax.plot(xs, mean, lw=1.2, label=f'{name} pooling')
        ax.fill_between(xs, mean - std, mean + std, alpha=0.2)
    ax.set_xlabel('channel (sorted by mean)')
    ax.set_ylabel('pooled activation')
    ax.set_title('Per-channel mean ± std of pooled backbone features')
    ax.legend(fontsize=8)
    save_figure(fig, path)


def plot_channels(features: Dict[str, np.ndarray],
                  stats: Dict[str, Dict[str, np.ndarray]], num: int, kind: str,
                  path: str) -> Dict[str, List[int]]:
    """Box/violin plots of ``num`` channels spread over the sorted order of
    each pooling; returns the channels shown."""
    plt = get_pyplot()
    fig, axes = plt.subplots(
        len(features),
        1,
        figsize=(9, 3 * len(features)),
        squeeze=False,
        layout='constrained')
    shown = {}
    for ax, (name, x) in zip(axes[:, 0], features.items()):
        order = np.argsort(-stats[name]['mean'], kind='stable')
        pick = order[np.unique(
            np.linspace(0,
                        len(order) - 1, min(num,
                                            len(order))).round().astype(int))]
        shown[name] = pick.tolist()
        data = [x[:, c] for c in pick]
        if kind == 'violin':
            ax.violinplot(data, showmedians=True)
        else:
            ax.boxplot(data, showfliers=False)
        ax.set_xticks(np.arange(1, len(pick) + 1))
        ax.set_xticklabels([str(c) for c in pick], fontsize=7, rotation=90)
        ax.set_title(
            f'{name} pooling: channels from highest to lowest mean',
            fontsize=9)
        ax.set_ylabel('activation')
    axes[-1, 0].set_xlabel('channel')
    save_figure(fig, path)
    return shown


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Run the tool; returns the summary it writes to ``summary.json``."""
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    out_dir = args.out_dir or default_out_dir(cfg, args.config, TOOL,
                                              args.work_dir)
    model = build_model(cfg, args.checkpoint, args.device, args.config)
    own = getattr(getattr(model, 'neck', None), 'pooling', None)
    poolings = list(dict.fromkeys(args.pooling or [own or 'avg']))
    if 'none' in poolings:
        poolings = ['avg']  # only used if the features are 4-D
    dataset = build_dataset(cfg, 'test')
    n = len(dataset)
    k = n if args.num_samples in (None, 0) else min(args.num_samples, n)
    if k < 2:
        raise AnalysisError('need at least 2 test images')
    indices = np.sort(
        np.random.default_rng(args.seed).choice(n, k, replace=False))
    print(f'Backbone features of {k} test images')
    features = pooled_features(model, dataset, indices, poolings,
                               args.batch_size)
    stats = {p: channel_stats(x) for p, x in features.items()}
    bn = neck_bn_stats(model)
    rows = []
    for p, s in stats.items():
        for c in range(len(s['mean'])):
            row = dict(pooling=p, channel=c)
            row.update({key: float(v[c]) for key, v in s.items()})
            row['rank_by_mean'] = int(s['rank_by_mean'][c])
            if bn is not None and p in (own, 'none') and len(
                    bn['bn_running_mean']) == len(s['mean']):
                row.update({key: float(v[c]) for key, v in bn.items()})
            rows.append(row)
    columns = list(rows[0]) + [
        key for key in ('bn_running_mean', 'bn_running_std')
        if bn is not None and key not in rows[0]
    ]
    write_csv(osp.join(out_dir, 'channel_stats.csv'), rows, columns)
    plot_spread(stats, osp.join(out_dir, 'spread.png'))
    shown = plot_channels(features, stats, args.num_box_channels, args.plot,
                          osp.join(out_dir, 'channels.png'))
    summary = dict(
        config=args.config,
        checkpoint=args.checkpoint,
        neck_pooling=own,
        num_samples=k,
        poolings={})
    for p, s in stats.items():
        mean = s['mean']
        summary['poolings'][p] = dict(
            channels=len(mean),
            mean_of_means=float(mean.mean()),
            std_of_means=float(mean.std()),
            mean_of_stds=float(s['std'].mean()),
            cv_of_means=float(mean.std() / max(abs(mean.mean()), 1e-12)),
            dead_channels=int((s['std'] == 0).sum()),
            mean_frac_nonpositive=float(s['frac_nonpositive'].mean()),
            box_channels=shown[p])
    write_json(osp.join(out_dir, 'summary.json'), summary)
    print(f'Results written to {out_dir}')
    summary['out_dir'] = out_dir
    return summary


if __name__ == '__main__':
    run_tool(lambda: main(sys.argv[1:]))
