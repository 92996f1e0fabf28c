"""Timing core of ``benchmarks/train_step.py`` (HNG overhead, paper
Table 7). Everything runs in one process on one device, from a config:

- the model is built with ``MODELS.build(cfg.model)`` (pretrained weights
  switched off: no internet) and the optimiser wrapper(s) with
  ``mmengine.optim.build_optim_wrapper``, as the Runner would, without the
  Runner (no dataloader, hooks or logging);
- the batch is synthetic: ``N x M`` random ``uint8`` images of the config's
  train crop size (or ``img_size``), labels in group order
  (docs/algorithm.md §1)
  (``N`` distinct training classes, the same class order in each of the
  ``M`` groups); it goes through the model's data preprocessor like a real
  batch;
- times are medians over ``num_iters`` iterations after ``warmup``
  iterations, with ``torch.cuda.synchronize()`` around each on a GPU.

Measured, per model (:func:`compare_train_step`):

- ``train_s``: one ``model.train_step(batch, optim_wrapper)``
  (docs/algorithm.md §6 for GCA-HNG: both graph passes, three optimisers);
- ``cached_s``: the same ``train_step`` with ``extract_feat`` replaced by a
  cached embedding (a leaf tensor taken from a real forward pass, so
  gradients still flow into it): what the step costs without the backbone
  and neck, i.e. losses, graph head, CACAI and optimiser steps. The
  difference of the ``cached_s`` of GCA-HNG and of its baseline is the time
  the HNG machinery adds (``hng_s`` in :func:`compare_train_step`);
- ``infer_s``: one inference batch, ``model(inputs, mode='tensor')`` in
  eval mode under ``torch.no_grad()`` after the data preprocessor (what
  retrieval evaluation runs; the graph head is training-only,
  docs/algorithm.md §3);
- ``peak_mem_bytes``: the extra memory the training iterations need on top
  of the built model (gradients, optimiser states, activations). On CUDA:
  ``torch.cuda.max_memory_allocated()`` minus the allocated memory before
  the first step (``peak_mem_total_bytes`` is the absolute peak). On CPU:
  the process's peak resident set size (Linux ``VmHWM``, reset through
  ``/proc/self/clear_refs`` after ``malloc_trim``) minus its resident set
  size before the first step; it includes allocator slack, so it is an
  approximation (``mem_kind`` says which).
"""
import copy
import ctypes
import math
import os.path as osp
import re
import statistics
import time
from contextlib import contextmanager, nullcontext
from typing import Callable, Dict, Iterator, List, Optional, Tuple, Union

import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import init_default_scope

import gcahng  # noqa: F401  (registries)
from gcahng.utils import enable_amp

#: Crop size used when the config has no ``RandomResizedCrop``.
DEFAULT_IMG_SIZE = 224


# ----------------------------------------------------------------------
# configs
def baseline_twin(config: str) -> str:
    """The baseline config of a GCA-HNG config: ``configs/gcahng/`` →
    ``configs/baselines/`` (same file name).

    Raises:
        ValueError: if ``config`` is not under a ``gcahng`` directory.
    """
    parts = osp.normpath(config).split(osp.sep)
    if 'gcahng' not in parts[:-1]:
        raise ValueError(f'{config} is not under configs/gcahng/; pass the '
                         'baseline config explicitly')
    idx = len(parts) - 2 - parts[-2::-1].index('gcahng')
    parts[idx] = 'baselines'
    return osp.sep.join(parts)


def load_config(config: Union[str, Config],
                cfg_options: Optional[dict] = None) -> Config:
    """Read a config (or copy a :class:`Config`), apply ``cfg_options`` and
    switch off pretrained weights (:func:`disable_pretrained`)."""
    if isinstance(config, Config):
        cfg = copy.deepcopy(config)
    else:
        cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    disable_pretrained(cfg)
    return cfg


def disable_pretrained(cfg: Config) -> None:
    """No weight download: ``init_cfg=None`` (and ``pretrained=None``
    where present) on the model and its backbone."""
    model = cfg.model
    for part in (model, model.get('backbone', {})):
        if 'init_cfg' in part:
            part['init_cfg'] = None
        if 'pretrained' in part:
            part['pretrained'] = None


def batch_layout(cfg: Config) -> Tuple[int, int]:
    """``(N, M)`` of the config's training batch (docs/algorithm.md §1),
    from
    ``train_dataloader.sampler`` (``num_classes_per_batch``,
    ``num_samples_per_class``)."""
    sampler = cfg.train_dataloader.get('sampler', {})
    n = sampler.get('num_classes_per_batch')
    m = sampler.get('num_samples_per_class')
    if n is None or m is None:
        raise ValueError('the config has no balanced sampler '
                         '(train_dataloader.sampler.num_classes_per_batch / '
                         'num_samples_per_class): batch layout unknown')
    return int(n), int(m)


def train_img_size(cfg: Config) -> int:
    """Side of the training crop: ``RandomResizedCrop.scale`` of the train
    pipeline, or :data:`DEFAULT_IMG_SIZE`."""
    pipeline = cfg.train_dataloader.get('dataset', {}).get('pipeline', [])
    for step in pipeline:
        if step.get('type') == 'RandomResizedCrop':
            scale = step.get('scale', DEFAULT_IMG_SIZE)
            return int(scale if isinstance(scale, int) else max(scale))
    return DEFAULT_IMG_SIZE


def num_train_classes(model: nn.Module, default: int) -> int:
    """Training classes the labels may use: the smallest class count among
    the metric loss (PA proxies), graph head and h₁."""
    counts = [
        getattr(model.loss_metric, 'num_classes', None),
        getattr(getattr(model, 'graph_head', None), 'num_classes', None)
    ]
    counts = [c for c in counts if c]
    return min(counts) if counts else default


def build_model_and_optim(cfg: Config,
                          device: Union[str, torch.device] = 'cpu',
                          amp: bool = False) -> Tuple[nn.Module, object]:
    """Model and optimiser wrapper(s) of ``cfg`` on ``device``, as the
    Runner builds them (without dataloaders, hooks or weight init).

    Under ``amp`` on CUDA every wrapper becomes an ``AmpOptimWrapper``
    (fp16, dynamic loss scale); on CPU the wrappers stay plain (bf16 needs
    no loss scaling) and the callers run the step under CPU bf16 autocast.
    """
    from mmengine.logging import MMLogger
    from mmengine.optim import build_optim_wrapper

    from gcahng.registry import MODELS
    init_default_scope(cfg.get('default_scope', 'gcahng'))
    # a quiet current logger: no per-parameter optimiser messages
    MMLogger.get_instance('gcahng_speed', log_level='ERROR')
    device = torch.device(device)
    cfg = copy.deepcopy(cfg)
    if amp and device.type == 'cuda':
        enable_amp(cfg)
    model = MODELS.build(cfg.model).to(device)
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    return model, optim_wrapper


def synthetic_batch(num_classes: int,
                    num_per_class: int,
                    img_size: int,
                    class_pool: int,
                    device: Union[str, torch.device] = 'cpu',
                    seed: int = 0) -> dict:
    """A random training batch in group order (docs/algorithm.md §1).

    ``N`` distinct classes drawn from ``[0, class_pool)``, ``M`` groups of
    one image each in the same class order (sample ``i = g·N + n``); the
    images are random ``uint8`` ``[B, 3, img_size, img_size]`` (one stacked
    tensor, as ``pseudo_collate`` + the preprocessor would see it).
    """
    from mmpretrain.structures import DataSample
    if num_classes > class_pool:
        raise ValueError(f'N = {num_classes} classes per batch but only '
                         f'{class_pool} training classes')
    gen = torch.Generator().manual_seed(seed)
    classes = torch.randperm(class_pool, generator=gen)[:num_classes]
    labels = classes.repeat(num_per_class)
    images = torch.randint(
        0,
        256, (labels.numel(), 3, img_size, img_size),
        generator=gen,
        dtype=torch.uint8)
    samples = [DataSample().set_gt_label(int(y)) for y in labels]
    return dict(inputs=images.to(device), data_samples=samples)


# ----------------------------------------------------------------------
# measurement helpers
def _sync(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def _autocast(device: torch.device, amp: bool, train: bool = True):
    """Autocast for ``amp``: bf16 on CPU; fp16 on CUDA for inference only
    (in training the AmpOptimWrappers enter autocast themselves)."""
    if amp and device.type == 'cpu':
        return torch.autocast('cpu', dtype=torch.bfloat16)
    if amp and device.type == 'cuda' and not train:
        return torch.autocast('cuda', dtype=torch.float16)
    return nullcontext()


def _proc_status(field: str) -> Optional[int]:
    """``field`` of ``/proc/self/status`` in bytes (Linux), else None."""
    try:
        with open('/proc/self/status') as f:
            match = re.search(rf'^{field}:\s+(\d+) kB', f.read(), re.M)
    except OSError:
        return None
    return int(match.group(1)) * 1024 if match else None


def _reset_cpu_peak() -> Optional[int]:
    """Return freed heap to the OS, reset ``VmHWM``; current RSS or None
    when the peak cannot be reset."""
    try:
        ctypes.CDLL('libc.so.6').malloc_trim(0)
    except (OSError, AttributeError):
        pass
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
    except OSError:
        return None
    return _proc_status('VmRSS')


@contextmanager
def peak_memory(device: torch.device) -> Iterator[Dict[str, object]]:
    """Measure the extra peak memory of the enclosed code (see the module
    docstring); fills ``peak_mem_bytes`` and ``mem_kind`` of the yielded
    dict on exit (``peak_mem_bytes`` None when it cannot be measured)."""
    out: Dict[str, object] = dict(peak_mem_bytes=None, mem_kind='none')
    if device.type == 'cuda':
        _sync(device)
        torch.cuda.reset_peak_memory_stats(device)
        start = torch.cuda.memory_allocated(device)
        yield out
        _sync(device)
        peak = torch.cuda.max_memory_allocated(device)
        out.update(
            peak_mem_bytes=peak - start,
            peak_mem_total_bytes=peak,
            mem_kind='cuda max_memory_allocated - allocated before')
        return
    start = _reset_cpu_peak()
    yield out
    peak = _proc_status('VmHWM')
    if start is not None and peak is not None:
        out.update(
            peak_mem_bytes=max(peak - start, 0),
            mem_kind='cpu peak RSS (VmHWM) - RSS before')


@contextmanager
def cached_features(model: nn.Module, z: torch.Tensor) -> Iterator[None]:
    """Within the context ``model.extract_feat`` returns a cached embedding.

    ``z`` is a real ``extract_feat`` output (taken under the same autocast
    as the training step); it is detached and made a leaf that requires
    grad, so the losses still back-propagate into it as into a real
    backbone output. Train steps then cost what they cost without the
    backbone and neck.
    """
    z = z.detach().requires_grad_(True)

    def extract_feat(_inputs: torch.Tensor) -> torch.Tensor:
        z.grad = None
        return z

    model.extract_feat = extract_feat
    try:
        yield
    finally:
        del model.extract_feat


def compile_model(model: nn.Module, scope: str = 'head') -> None:
    """``torch.compile`` parts of ``model`` in place
    (``nn.Module.compile``: state-dict names are kept).

    ``scope='head'``: the graph head and the CACAI generator (GCA-HNG only);
    ``'all'``: also the backbone and neck (both models).
    """
    if scope not in ('head', 'all'):
        raise ValueError(f'compile scope must be "head" or "all", got '
                         f'{scope!r}')
    names = ['graph_head', 'generator']
    if scope == 'all':
        names += ['backbone', 'neck']
    for name in names:
        module = getattr(model, name, None)
        if isinstance(module, nn.Module):
            module.compile()


# ----------------------------------------------------------------------
class StepBench:
    """One config's model, optimiser wrapper(s) and synthetic batch, with
    the three timed callables (``train_step``, docs/algorithm.md §6; the
    same step on cached features; one inference batch).

    Args:
        cfg (str | Config): Config file or object (pretrained weights are
            switched off on a copy).
        device (str | torch.device): ``'cpu'``, ``'cuda'``, ...
        img_size (int, optional): Image side; the config's train crop when
            None.
        amp (bool): Mixed precision: ``AmpOptimWrapper`` (fp16) on CUDA,
            bf16 autocast on CPU.
        compile (str, optional): ``'head'`` or ``'all'``, see
            :func:`compile_model`; None for eager.
        seed (int): Seed of the weights, batch and random draws.
    """

    def __init__(self,
                 cfg: Union[str, Config],
                 device: Union[str, torch.device] = 'cpu',
                 img_size: Optional[int] = None,
                 amp: bool = False,
                 compile: Optional[str] = None,
                 seed: int = 0) -> None:
        cfg = load_config(cfg)
        self.device = torch.device(device)
        self.amp = amp
        self.compile = compile
        torch.manual_seed(seed)
        self.num_classes, self.num_per_class = batch_layout(cfg)
        self.img_size = img_size or train_img_size(cfg)
        self.model, self.optim_wrapper = build_model_and_optim(
            cfg, self.device, amp)
        self.model.train()
        if compile:
            compile_model(self.model, compile)
        self.data = synthetic_batch(
            self.num_classes, self.num_per_class, self.img_size,
            num_train_classes(self.model, self.num_classes), self.device, seed)
        self._cached_z: Optional[torch.Tensor] = None

    def train_step(self) -> None:
        """One ``model.train_step`` on the batch."""
        with _autocast(self.device, self.amp):
            self.model.train_step(self.data, self.optim_wrapper)

    def cached_step(self) -> None:
        """``train_step`` with ``extract_feat`` replaced by a cached
        embedding (see :func:`cached_features`)."""
        if self._cached_z is None:
            inputs = self.model.data_preprocessor(self.data, True)['inputs']
            with torch.no_grad(), _autocast(self.device, self.amp, False):
                self._cached_z = self.model.extract_feat(inputs)
        with cached_features(self.model, self._cached_z):
            self.train_step()

    @torch.no_grad()
    def infer(self) -> None:
        """One inference batch: preprocessing + ``mode='tensor'`` in eval
        mode (the mode is restored afterwards)."""
        self.model.eval()
        try:
            with _autocast(self.device, self.amp, train=False):
                batch = self.model.data_preprocessor(self.data, False)
                self.model(batch['inputs'], mode='tensor')
        finally:
            self.model.train()

    def info(self) -> Dict[str, object]:
        """Settings of the measurement."""
        return dict(
            model=type(self.model).__name__,
            batch_size=self.num_classes * self.num_per_class,
            num_classes=self.num_classes,
            num_per_class=self.num_per_class,
            img_size=self.img_size,
            device=str(self.device),
            amp=self.amp,
            compile=self.compile)


def timed(fn: Callable[[], object], device: torch.device) -> float:
    """Seconds one call of ``fn`` takes on ``device`` (synchronised before
    and after on a GPU)."""
    _sync(device)
    start = time.perf_counter()
    fn()
    _sync(device)
    return time.perf_counter() - start


def _measure(benches: List[StepBench], num_iters: int, warmup: int,
             cached: bool, inference: bool) -> List[Dict[str, object]]:
    """Warm each bench up (measuring its peak memory), then time the
    benches' iterations interleaved (``A B B A A B …``) so that a change of
    machine load affects all of them alike; medians."""
    results = []
    for bench in benches:
        with peak_memory(bench.device) as mem:
            for _ in range(max(warmup, 1)):
                bench.train_step()
        result = bench.info()
        result.update(mem, num_iters=num_iters, warmup=warmup)
        results.append(result)
    kinds = [('train', StepBench.train_step)]
    if cached:
        kinds.append(('cached', StepBench.cached_step))
    if inference:
        kinds.append(('infer', StepBench.infer))
    for kind, fn in kinds:
        times: List[List[float]] = [[] for _ in benches]
        if kind != 'train':  # warm-up of this code path
            for bench in benches:
                for _ in range(warmup):
                    fn(bench)
        for it in range(num_iters):
            order = range(len(benches))
            for k in (order if it % 2 == 0 else reversed(order)):
                times[k].append(
                    timed(lambda: fn(benches[k]), benches[k].device))
        for result, ts in zip(results, times):
            result[f'{kind}_s'] = statistics.median(ts) if ts else None
            result[f'{kind}_times'] = ts
    for result in results:
        for kind in ('cached', 'infer'):
            result.setdefault(f'{kind}_s', None)
    return results


def compare_train_step(cfg: Union[str, Config],
                       baseline_cfg: Union[str, Config],
                       num_iters: int = 10,
                       warmup: int = 2,
                       device: Union[str, torch.device] = 'cpu',
                       img_size: Optional[int] = None,
                       amp: bool = False,
                       compile: Optional[str] = None,
                       cached: bool = True,
                       inference: bool = True,
                       seed: int = 0) -> Dict[str, Dict[str, object]]:
    """Time GCA-HNG and its baseline with the same device, batch and
    settings, their iterations interleaved.

    Args:
        cfg (str | Config): GCA-HNG config file or object.
        baseline_cfg (str | Config): Baseline config file or object.
        num_iters (int): Timed iterations (medians are reported).
        warmup (int): Untimed iterations first (lazy optimiser state,
            allocator and autotuning warm-up, compilation); at least one
            training iteration runs before the timed ones.
        device, img_size, amp, compile, seed: See :class:`StepBench`.
        cached (bool): Also time the step with cached features
            (``cached_s``).
        inference (bool): Also time an inference batch (``infer_s``).

    Returns:
        dict: ``gcahng`` and ``baseline``, each with ``train_s``,
        ``cached_s``, ``infer_s`` (median seconds; None when not measured)
        and their per-iteration ``*_times``, ``peak_mem_bytes``,
        ``mem_kind`` (see :func:`peak_memory`), ``model`` (type),
        ``batch_size``, ``num_classes``, ``num_per_class``, ``img_size``,
        ``device``, ``amp``, ``compile``, ``num_iters``, ``warmup``; and
        ``summary``: ``hng_overhead``
        (``train_s`` ratio), ``hng_s`` (``cached_s`` difference: the time
        the graph head, CACAI, the generation losses and the extra
        optimisers add), ``head_share`` (``hng_s / train_s`` of GCA-HNG),
        ``infer_ratio``.
    """
    kwargs = dict(
        device=device, img_size=img_size, amp=amp, compile=compile, seed=seed)
    benches = [StepBench(baseline_cfg, **kwargs), StepBench(cfg, **kwargs)]
    baseline, hng = _measure(benches, num_iters, warmup, cached, inference)
    summary: Dict[str, object] = dict(hng_overhead=hng['train_s'] /
                                      baseline['train_s'])
    if hng['cached_s'] is not None and baseline['cached_s'] is not None:
        hng_s = hng['cached_s'] - baseline['cached_s']
        summary.update(hng_s=hng_s, head_share=hng_s / hng['train_s'])
    if hng['infer_s'] and baseline['infer_s']:
        summary['infer_ratio'] = hng['infer_s'] / baseline['infer_s']
    return dict(gcahng=hng, baseline=baseline, summary=summary)


def table_rows(result: Dict[str, Dict[str, object]]) -> List[dict]:
    """Paper Table 7 rows of a :func:`compare_train_step` result: one per
    method (``Baseline``, ``GCA-HNG``) with ``train_s_per_iter``,
    ``infer_s_per_batch``, ``peak_train_mem_mib`` and ``train_ratio`` /
    ``infer_ratio`` (relative to the baseline)."""
    base = result['baseline']
    rows = []
    for method, r in (('Baseline', base), ('GCA-HNG', result['gcahng'])):
        mem = r.get('peak_mem_bytes')
        rows.append(
            dict(
                method=method,
                train_s_per_iter=r['train_s'],
                infer_s_per_batch=r['infer_s'],
                peak_train_mem_mib=None if mem is None else mem / 2**20,
                train_ratio=r['train_s'] / base['train_s'],
                infer_ratio=(r['infer_s'] / base['infer_s']
                             if r['infer_s'] and base['infer_s'] else None)))
    return rows


def markdown_table(rows: List[dict]) -> str:
    """The rows of :func:`table_rows` as a Markdown table."""

    def num(value: Optional[float], fmt: str) -> str:
        return 'n/a' if value is None else format(value, fmt)

    lines = [
        '| Method | Training (s/iter) | Inference (s/batch) | '
        'Peak training memory (MiB) | Training vs baseline |',
        '|---|---:|---:|---:|---:|',
    ]
    for row in rows:
        lines.append(f'| {row["method"]} | '
                     f'{num(row["train_s_per_iter"], ".3f")} | '
                     f'{num(row["infer_s_per_batch"], ".3f")} | '
                     f'{num(row["peak_train_mem_mib"], ".0f")} | '
                     f'{num(row["train_ratio"], ".2f")}x |')
    return '\n'.join(lines)


def format_bytes(num: Optional[float]) -> str:
    """``123.4 MiB`` (``n/a`` for None)."""
    if num is None:
        return 'n/a'
    if num == 0:
        return '0 B'
    units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
    k = min(int(math.log(abs(num), 1024)), len(units) - 1)
    return f'{num / 1024**k:.1f} {units[k]}'


def device_name(device: Union[str, torch.device]) -> str:
    """The GPU's name, or the CPU model (``lscpu``'s ``Model name``) with
    the number of threads torch uses."""
    device = torch.device(device)
    if device.type == 'cuda':
        return torch.cuda.get_device_name(device)
    name = None
    try:
        with open('/proc/cpuinfo') as f:
            match = re.search(r'^model name\s*:\s*(.+)$', f.read(), re.M)
        name = match.group(1).strip() if match else None
    except OSError:
        pass
    return f'{name or "CPU"} ({torch.get_num_threads()} threads)'


__all__ = [
    'baseline_twin', 'batch_layout', 'build_model_and_optim', 'StepBench',
    'cached_features', 'compare_train_step', 'compile_model', 'device_name',
    'disable_pretrained', 'format_bytes', 'load_config', 'markdown_table',
    'num_train_classes', 'peak_memory', 'table_rows', 'synthetic_batch',
    'train_img_size'
]
