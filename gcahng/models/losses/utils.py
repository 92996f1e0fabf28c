"""Helpers shared by the loss modules."""
import torch


def fp32(x: torch.Tensor) -> torch.Tensor:
    """``x`` in at least float32 (half precision upcast, float64 kept):
    losses are computed in full precision under autocast."""
    return x if x.dtype in (torch.float32, torch.float64) else x.float()


__all__ = ['fp32']
