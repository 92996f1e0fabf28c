"""Cost of the memory graph against its size ``K`` (docs/algorithm.md §10).

For each ``K`` (default 0, 81, 324, 1296, 5184; ``4B`` of the config's
batch is always added) times

- the graph head alone: forward + backward on ``B`` random embeddings and a
  memory of ``K`` random entries (``B × (B + K)`` edges), and
- a whole GCA-HNG ``train_step`` (docs/algorithm.md §6, random images of
  the config's crop size or ``--img-size``, pretrained weights off) with
  ``model.memory=dict(size=K)`` and the memory filled beforehand,

with their peak memory (medians after warm-up; CUDA: the allocator's peak,
CPU: the process's peak RSS, see ``speed_core.peak_memory``). A least-squares
line through the times against ``K`` shows whether the growth is linear
(``*_fit_r2`` close to 1).

Printed ``RESULT`` lines: ``graph_head_time_k<K>``,
``graph_head_peak_mem_k<K>``, ``step_time_k<K>``, ``step_peak_mem_k<K>``
(seconds / bytes), ``graph_head_fit_slope`` / ``step_fit_slope`` (seconds
per memory entry), ``graph_head_fit_r2`` / ``step_fit_r2``, and as the last
line ``RESULT memory_overhead_4B=<step(K=4B) / step(K=0)>``.

Examples::

    python benchmarks/memory_scaling.py --device cuda     # R50 PA CUB, 224 px
    python benchmarks/memory_scaling.py --small           # CPU: 32 px, small K
"""
import argparse
import os.path as osp
import statistics
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import torch

HERE = osp.dirname(osp.abspath(__file__))
if HERE not in sys.path:  # speed_core beside this file, also when this
    sys.path.insert(0, HERE)  # file is loaded by path (the tests)

import speed_core as core  # noqa: E402

REPO = osp.dirname(HERE)
DEFAULT_CONFIG = osp.join(REPO, 'configs', 'gcahng', 'r50_pa_cub.py')
DEFAULT_SIZES = (0, 81, 324, 1296, 5184)
#: ``--small``: a CPU-sized run of the same measurement
SMALL = dict(img_size=32, sizes=(0, 16, 64, 256), iters=2, warmup=1)


def parse_args(argv: Optional[list] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Step time and peak memory of the memory graph '
        'against its size K (docs/algorithm.md §10).')
    parser.add_argument('config', nargs='?', default=DEFAULT_CONFIG)
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    parser.add_argument(
        '--sizes',
        type=int,
        nargs='+',
        default=None,
        help=f'memory sizes K (default {list(DEFAULT_SIZES)}; 0 and 4B are '
        'always measured)')
    parser.add_argument('--img-size', type=int, default=None)
    parser.add_argument('--iters', type=int, default=5)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument(
        '--batch',
        type=int,
        nargs=2,
        metavar=('N', 'M'),
        default=None,
        help="the batch N x M instead of the config's")
    parser.add_argument(
        '--small',
        action='store_true',
        help=f'CPU-sized defaults: {SMALL} (explicit options win)')
    parser.add_argument(
        '--no-step',
        action='store_true',
        help='time the graph head only (no whole training step)')
    args = parser.parse_args(argv)
    defaults = dict(SMALL) if args.small else dict(sizes=DEFAULT_SIZES)
    if args.sizes is None:
        args.sizes = list(defaults['sizes'])
    if args.small:
        if args.img_size is None:
            args.img_size = SMALL['img_size']
        if '--iters' not in (argv if argv is not None else sys.argv):
            args.iters = SMALL['iters']
        if '--warmup' not in (argv if argv is not None else sys.argv):
            args.warmup = SMALL['warmup']
    if any(k < 0 for k in args.sizes):
        parser.error('--sizes must be >= 0')
    return args


def _config(args: argparse.Namespace):
    cfg = core.load_config(args.config)
    if args.batch is not None:
        n, m = args.batch
        cfg.train_dataloader.sampler.update(
            num_classes_per_batch=n, num_samples_per_class=m)
        cfg.train_dataloader.batch_size = n * m
    return cfg


def _median_time(fn, device: torch.device, iters: int,
                 warmup: int) -> Tuple[float, Optional[int]]:
    """Median seconds of ``fn`` after ``warmup`` calls (whose peak memory
    is returned)."""
    with core.peak_memory(device) as mem:
        for _ in range(max(warmup, 1)):
            fn()
    times = [core.timed(fn, device) for _ in range(max(iters, 1))]
    return statistics.median(times), mem.get('peak_mem_bytes')


def graph_head_cost(args: argparse.Namespace, size: int) -> Dict:
    """Forward + backward of the config's graph head on a batch of random
    embeddings with a memory of ``size`` random entries."""
    from mmengine.registry import init_default_scope

    from gcahng.models.utils import MemoryView
    from gcahng.registry import MODELS
    init_default_scope('gcahng')
    cfg = _config(args)
    n, m = core.batch_layout(cfg)
    device = torch.device(args.device)
    torch.manual_seed(0)
    head = MODELS.build(dict(cfg.model.graph_head, num_classes=n))
    head = head.to(device).train()
    d = head.embed_dim
    z = torch.randn(n * m, d, device=device, requires_grad=True)
    labels = torch.arange(n, device=device).repeat(m)
    memory = None
    if size:
        memory = MemoryView(
            torch.randn(size, d, device=device),
            torch.randint(0, 4 * n, (size, ), device=device),
            torch.zeros(size, dtype=torch.long, device=device))

    def step() -> None:
        logits, lambdas = head(z, labels, memory=memory)
        (logits.float().sum() + lambdas.float().mean()).backward()

    seconds, peak = _median_time(step, device, args.iters, args.warmup)
    return dict(seconds=seconds, peak=peak)


def step_cost(args: argparse.Namespace, size: int) -> Dict:
    """A whole ``train_step`` with ``model.memory=dict(size=size)``, the
    memory full of random entries."""
    cfg = _config(args)
    cfg.model.memory = dict(size=size) if size else None
    bench = core.StepBench(cfg, args.device, args.img_size)
    model = bench.model
    if size:
        d = model.memory.dim
        pool = core.num_train_classes(model, bench.num_classes)
        model.memory.enqueue(
            torch.randn(size, d, device=bench.device),
            torch.randint(0, pool, (size, ), device=bench.device))
    seconds, peak = _median_time(bench.train_step, bench.device, args.iters,
                                 args.warmup)
    return dict(seconds=seconds, peak=peak)


def linear_fit(xs: Sequence[float],
               ys: Sequence[float]) -> Tuple[float, float, float]:
    """Least-squares ``y = a + b·x``: ``(a, b, R²)`` (R² is 1 for fewer
    than three points or constant ``y``)."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx)**2 for x in xs)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    b = sxy / sxx if sxx else 0.0
    a = my - b * mx
    ss_tot = sum((y - my)**2 for y in ys)
    ss_res = sum((y - a - b * x)**2 for x, y in zip(xs, ys))
    r2 = 1.0 - ss_res / ss_tot if ss_tot and n > 2 else 1.0
    return a, b, r2


def report(name: str, costs: Dict[int, dict], sizes: List[int]) -> None:
    """``RESULT`` lines of one measured part: its time and peak memory at
    each ``K`` and the least-squares line through the times."""
    for k in sizes:
        print(f'RESULT {name}_time_k{k}={costs[k]["seconds"]:.5f}')
        print(f'RESULT {name}_peak_mem_k{k}={costs[k]["peak"] or 0}')
    _, slope, r2 = linear_fit(sizes, [costs[k]['seconds'] for k in sizes])
    print(f'RESULT {name}_fit_slope={slope:.3e}')
    print(f'RESULT {name}_fit_r2={r2:.4f}')


def main(argv: Optional[list] = None) -> None:
    args = parse_args(argv)
    cfg = _config(args)
    n, m = core.batch_layout(cfg)
    four_b = 4 * n * m
    sizes: List[int] = sorted(set(args.sizes) | {0, four_b})
    print(f'config: {args.config}; batch {n} x {m} = {n * m}; device: '
          f'{core.device_name(args.device)}; img size: '
          f'{args.img_size or core.train_img_size(cfg)}; K: {sizes}')
    head = {k: graph_head_cost(args, k) for k in sizes}
    report('graph_head', head, sizes)
    if args.no_step:
        ratio = head[four_b]['seconds'] / head[0]['seconds']
        print(f'RESULT memory_overhead_4B={ratio:.3f}  # graph head only')
        return
    step = {k: step_cost(args, k) for k in sizes}
    report('step', step, sizes)
    ratio = step[four_b]['seconds'] / step[0]['seconds']
    print(f'RESULT memory_overhead_4B={ratio:.3f}')


if __name__ == '__main__':
    main()
