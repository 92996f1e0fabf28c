"""Batch normalisation over the global batch, on any device and backend."""
from typing import List

import torch
import torch.distributed as dist
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm

from gcahng.registry import MODELS
from .global_batch import _all_gather, distributed_world_size


class _GlobalBatchNormFn(torch.autograd.Function):
    """``y = (x - μ)/sqrt(σ² + eps)·w + b`` with ``μ``, ``σ²`` over the
    samples of all ranks; returns ``(y, μ, σ²_unbiased)``."""

    @staticmethod
    def forward(ctx, x, weight, bias, eps):
        dims = [0] + list(range(2, x.dim()))
        shape = [1, -1] + [1] * (x.dim() - 2)
        # float32 at least (half precision upcast, float64 kept)
        x32 = x.to(torch.promote_types(x.dtype, torch.float32))
        count = x32.new_tensor([x.numel() // x.size(1)])
        mean = x32.mean(dims)
        m2 = (x32 - mean.view(shape)).pow(2).sum(dims)
        # Chan et al.'s parallel combination of (count, mean, M2), in
        # float64 (C-sized vectors)
        stats = torch.stack(_all_gather(torch.cat([count, mean, m2]))).double()
        c = x.size(1)
        counts, means, m2s = stats[:, :1], stats[:, 1:c + 1], stats[:, c + 1:]
        total = counts.sum()
        g_mean = (counts * means).sum(0) / total
        g_m2 = m2s.sum(0) + (counts * (means - g_mean).pow(2)).sum(0)
        var = g_m2 / total
        invstd = (var + eps).rsqrt().to(x32.dtype)
        g_mean32 = g_mean.to(x32.dtype)
        xhat = (x32 - g_mean32.view(shape)) * invstd.view(shape)
        y = xhat
        if weight is not None:
            y = y * weight.to(x32.dtype).view(shape) + bias.to(
                x32.dtype).view(shape)
        ctx.save_for_backward(x, weight, g_mean32, invstd)
        ctx.total = float(total)
        ctx.dims, ctx.shape = dims, shape
        unbiased = (g_m2 / max(float(total) - 1.0, 1.0)).to(x32.dtype)
        ctx.mark_non_differentiable(g_mean32, unbiased)
        return y.to(x.dtype), g_mean32, unbiased

    @staticmethod
    def backward(ctx, grad_y, _grad_mean, _grad_var):
        x, weight, mean, invstd = ctx.saved_tensors
        dims, shape = ctx.dims, ctx.shape
        dy = grad_y.to(mean.dtype)
        xhat = (x.to(mean.dtype) - mean.view(shape)) * invstd.view(shape)
        sum_dy = dy.sum(dims)
        sum_dy_xhat = (dy * xhat).sum(dims)
        grad_w = grad_b = grad_x = None
        if weight is not None:
            # local sums: DDP averages the parameters' gradients
            grad_w = sum_dy_xhat.to(weight.dtype)
            grad_b = sum_dy.to(weight.dtype)
        if ctx.needs_input_grad[0]:
            sums = torch.cat([sum_dy, sum_dy_xhat])
            dist.all_reduce(sums)
            g_dy, g_dy_xhat = sums.view(2, 1, -1).unbind(0)
            scale = invstd if weight is None else invstd * weight.to(
                invstd.dtype)
            grad_x = scale.view(shape) * (
                dy -
                (g_dy.view(shape) + xhat * g_dy_xhat.view(shape)) / ctx.total)
            grad_x = grad_x.to(x.dtype)
        return grad_x, grad_w, grad_b, None


@MODELS.register_module('GlobalBN')
class GlobalBatchNorm(_BatchNorm):
    """Batch normalisation whose training statistics are those of the
    samples of all ranks: the BN layers of ``docs/algorithm.md`` §2 in
    global-batch mode (§9).

    ``y = (x - μ)/sqrt(σ² + eps)·γ + β`` with ``μ``, ``σ²`` the mean and
    (biased) variance over the batch of every rank, computed from each
    rank's ``(count, mean, M2)`` by Chan et al.'s parallel formula (one
    all-gather of ``2C + 1`` numbers per forward, one all-reduce of ``2C``
    per backward). The running statistics are updated with the global
    ``μ`` and unbiased ``σ²``, so they are the same on every rank. Unlike
    ``torch.nn.SyncBatchNorm`` it runs on CPU (gloo) as well as on GPUs, and
    the shares may be of different sizes. In eval mode, in a single process
    or without running statistics' support it is ``BatchNorm``; its state
    dict is that of ``BatchNorm{1,2,3}d``.
    """

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(
                f'GlobalBatchNorm: expected at least 2D input, got '
                f'{input.dim()}D')

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        self._check_input_dim(input)
        if not self.training or distributed_world_size() == 1:
            return super().forward(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:  # cumulative moving average
                factor = 1.0 / float(self.num_batches_tracked)
        y, mean, var = _GlobalBatchNormFn.apply(input, self.weight, self.bias,
                                                self.eps)
        if self.track_running_stats and self.running_mean is not None:
            with torch.no_grad():
                self.running_mean.lerp_(mean.to(self.running_mean), factor)
                self.running_var.lerp_(var.to(self.running_var), factor)
        return y


def convert_global_batchnorm(module: nn.Module) -> nn.Module:
    """Replace every ``BatchNorm*d`` (and ``SyncBatchNorm``) of ``module``
    by a :class:`GlobalBatchNorm` with the same parameters, buffers and
    ``requires_grad`` flags (the equivalent of
    ``nn.SyncBatchNorm.convert_sync_batchnorm``). Returns the module (a new
    one when ``module`` itself is a batch norm)."""
    if isinstance(module,
                  _BatchNorm) and not isinstance(module, GlobalBatchNorm):
        new = GlobalBatchNorm(module.num_features, module.eps, module.momentum,
                              module.affine, module.track_running_stats)
        if module.affine:
            with torch.no_grad():
                new.weight = module.weight
                new.bias = module.bias
        new.running_mean = module.running_mean
        new.running_var = module.running_var
        new.num_batches_tracked = module.num_batches_tracked
        new.training = module.training
        return new
    children: List = list(module.named_children())
    for name, child in children:
        converted = convert_global_batchnorm(child)
        if converted is not child:
            module.add_module(name, converted)
    return module
