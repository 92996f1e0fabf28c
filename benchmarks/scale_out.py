"""Scale-out cost of global-batch mode (docs/algorithm.md §9).

Times one GCA-HNG ``train_step`` (SPEC §6, DDP-wrapped as in training) on
1 and on ``W`` processes at the same global batch (the config's ``N x M``,
random images, each rank its share of the class slots), and counts the
collectives that global-batch mode adds per step: the share layouts, the
labels, the embeddings (one all-gather of ``B x D`` per iteration, reused
by both graph passes), its backward all-reduce and the BatchNorm
statistics. Then times the graph head alone (forward + backward, peak
memory) at global batches of 81, 162 and 324 (``M`` of the config, ``N =
B / M``): the graph is quadratic in ``B``, so this is what 1, 2 or 4 GPUs
x 81 cost per rank in global-batch mode (every rank runs the whole graph).

Printed ``RESULT`` lines: ``step_time_w<W>`` (seconds, median),
``comm_share_w<W>`` (share of the step spent in global-batch mode's
collectives, waiting for the slowest rank included; DDP's gradient
all-reduce is in the step time, not in this share),
``feature_gathers_per_step_w<W>``, ``scale_efficiency_w<W>`` =
``t1 / (W · tW)`` (1 is perfect strong scaling), and ``graph_head_time_b<B>``
/ ``graph_head_peak_mem_b<B>``. The last line is
``RESULT scale_efficiency=<t1 / (W · tW)>`` for the largest ``W``.

Examples::

    python benchmarks/scale_out.py                       # CPU, gloo
    python benchmarks/scale_out.py --device cuda --world-sizes 1 2 4 \\
        configs/gcahng/r50_pa_cub.py
"""
import argparse
import os.path as osp
import statistics
import sys
import time
from typing import Dict, List, Optional

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

HERE = osp.dirname(osp.abspath(__file__))
if HERE not in sys.path:  # speed_core beside this file (also in the
    sys.path.insert(0, HERE)  # spawned workers, which re-import it)

import speed_core as core  # noqa: E402

REPO = osp.dirname(HERE)
DEFAULT_CONFIG = osp.join(REPO, 'configs', 'gcahng', 'r18_pa_synthetic.py')


def parse_args(argv: Optional[list] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Time GCA-HNG on 1 and W processes at one global batch.')
    parser.add_argument('config', nargs='?', default=DEFAULT_CONFIG)
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    parser.add_argument('--world-sizes', type=int, nargs='+', default=[1, 2])
    parser.add_argument('--img-size', type=int, default=None)
    parser.add_argument('--iters', type=int, default=5)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument(
        '--graph-batches', type=int, nargs='*', default=[81, 162, 324])
    return parser.parse_args(argv)


class CollectiveCounter:
    """Counts and times the collectives of global-batch mode (the module
    level ``dist`` calls of ``gcahng.models.utils``)."""

    def __init__(self) -> None:
        from gcahng.models.utils import global_batch, global_batchnorm
        self.modules = (global_batch, global_batchnorm)
        self.calls: List[tuple] = []
        self.seconds = 0.0

    def _wrap(self, name: str, fn):

        def timed(*args, **kwargs):
            tensor = args[1] if name == 'all_gather' else args[0]
            start = time.perf_counter()
            out = fn(*args, **kwargs)
            self.seconds += time.perf_counter() - start
            self.calls.append((name, tuple(tensor.shape)))
            return out

        return timed

    def __enter__(self) -> 'CollectiveCounter':
        self._dist = dist.all_gather, dist.all_reduce
        for name, fn in zip(('all_gather', 'all_reduce'), self._dist):
            setattr(dist, name, self._wrap(name, fn))
        return self

    def __exit__(self, *exc) -> None:
        dist.all_gather, dist.all_reduce = self._dist

    def reset(self) -> None:
        self.calls, self.seconds = [], 0.0


def _worker(rank: int, world_size: int, port: int, args: argparse.Namespace,
            queue) -> None:
    from mmengine.model import MMSeparateDistributedDataParallel
    from mmengine.optim import build_optim_wrapper

    from gcahng.datasets.samplers import global_batch_share
    from gcahng.registry import MODELS
    device = torch.device(args.device, rank if args.device == 'cuda' else 0)
    if args.device == 'cuda':
        torch.cuda.set_device(device)
    torch.set_num_threads(max(1, torch.get_num_threads() // world_size))
    dist.init_process_group(
        'nccl' if args.device == 'cuda' else 'gloo',
        init_method=f'tcp://127.0.0.1:{port}',
        rank=rank,
        world_size=world_size)
    torch.manual_seed(0)
    cfg = core.load_config(args.config)
    n, m = core.batch_layout(cfg)
    from mmengine.registry import init_default_scope
    init_default_scope('gcahng')
    model = MODELS.build(cfg.model).to(device)  # GlobalBatchNorm if W > 1
    dim = model.graph_head.embed_dim
    wrapped = model
    if world_size > 1:
        wrapped = MMSeparateDistributedDataParallel(
            model,
            device_ids=[device.index] if args.device == 'cuda' else None,
            broadcast_buffers=False,
            find_unused_parameters=True)
    optim = build_optim_wrapper(wrapped, cfg.optim_wrapper)
    batch = core.synthetic_batch(n, m, args.img_size
                                 or core.train_img_size(cfg),
                                 core.num_train_classes(model, n), 'cpu')
    first, last = global_batch_share(n, rank, world_size)
    mine = [g * n + c for g in range(m) for c in range(first, last)]
    data = dict(
        inputs=batch['inputs'][mine].to(device),
        data_samples=[batch['data_samples'][i] for i in mine])
    model.train()
    times, comm, feature_gathers = [], [], []
    with CollectiveCounter() as counter:
        for it in range(args.warmup + args.iters):
            counter.reset()
            dist.barrier()
            if args.device == 'cuda':
                torch.cuda.synchronize()
            start = time.perf_counter()
            model.train_step(data, optim)
            if args.device == 'cuda':
                torch.cuda.synchronize()
            dist.barrier()
            if it >= args.warmup:
                times.append(time.perf_counter() - start)
                comm.append(counter.seconds)
                feature_gathers.append(
                    sum(1 for name, shape in counter.calls
                        if name == 'all_gather' and len(shape) == 3))
    if rank == 0:
        queue.put(
            dict(
                world_size=world_size,
                step=statistics.median(times),
                comm=statistics.median(comm),
                feature_gathers=max(feature_gathers),
                calls=counter.calls,
                batch=n * m,
                dim=dim))
    dist.barrier()
    dist.destroy_process_group()


def run_world(world_size: int, args: argparse.Namespace) -> Dict:
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    ctx = mp.get_context('spawn')
    queue = ctx.SimpleQueue()
    mp.start_processes(
        _worker,
        args=(world_size, port, args, queue),
        nprocs=world_size,
        join=True,
        start_method='spawn')
    return queue.get()


def graph_head_cost(args: argparse.Namespace, batch: int) -> Dict:
    """Forward + backward of the config's graph head alone on a global
    batch of ``batch`` random embeddings (``M`` of the config)."""
    from mmengine.registry import init_default_scope

    from gcahng.registry import MODELS
    init_default_scope('gcahng')
    cfg = core.load_config(args.config)
    m = core.batch_layout(cfg)[1]
    n = batch // m
    head_cfg = dict(cfg.model.graph_head, num_classes=n)
    device = torch.device(args.device)
    head = MODELS.build(head_cfg).to(device).train()
    z = torch.randn(n * m, head.embed_dim, device=device, requires_grad=True)
    labels = torch.arange(n, device=device).repeat(m)

    def step() -> None:
        logits, lambdas = head(z, labels)
        (logits.float().sum() + lambdas.float().mean()).backward()

    step()  # warm-up
    with core.peak_memory(device) as mem:
        seconds = core.timed(step, device)
    return dict(seconds=seconds, peak=mem['peak_mem_bytes'])


def main(argv: Optional[list] = None) -> None:
    args = parse_args(argv)
    results = {w: run_world(w, args) for w in args.world_sizes}
    base = results[min(args.world_sizes)]
    t1 = base['step'] * base['world_size']
    print(f'config: {args.config}; global batch {base["batch"]}, D = '
          f'{base["dim"]}; device {args.device}')
    efficiency = None
    for w, res in results.items():
        efficiency = t1 / (w * res['step'])
        print(f'W={w}: step {res["step"] * 1e3:.1f} ms, global-batch '
              f'collectives {res["comm"] * 1e3:.1f} ms '
              f'({res["comm"] / res["step"]:.1%}); per step: ' +
              ', '.join(f'{name}{list(shape)}'
                        for name, shape in res['calls'][:6]) +
              (' ...' if len(res['calls']) > 6 else ''))
        print(f'RESULT step_time_w{w}={res["step"]:.4f}')
        print(f'RESULT comm_share_w{w}={res["comm"] / res["step"]:.4f}')
        print(f'RESULT feature_gathers_per_step_w{w}='
              f'{res["feature_gathers"]}')
        print(f'RESULT scale_efficiency_w{w}={efficiency:.3f}')
    for b in args.graph_batches:
        cost = graph_head_cost(args, b)
        peak = cost['peak']
        print(f'RESULT graph_head_time_b{b}={cost["seconds"]:.4f}')
        print(f'RESULT graph_head_peak_mem_b{b}='
              f'{peak / 2**20 if peak is not None else float("nan"):.1f}MiB')
    print(f'RESULT scale_efficiency={efficiency:.3f}')


if __name__ == '__main__':
    main()
