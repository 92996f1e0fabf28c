"""Visualisation components: vis backends."""
from .optional_tensorboard_backend import OptionalTensorboardVisBackend

__all__ = ['OptionalTensorboardVisBackend']
