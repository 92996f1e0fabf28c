"""Visualisation, drawing only: the vis backend of the configs and the
figures of the analysis tools (:mod:`.figures`: images, t-SNE, plots,
imported where used so that importing the package stays light). Building
models and datasets and running batches is :mod:`gcahng.apis.builders`."""
from .optional_tensorboard_backend import OptionalTensorboardVisBackend

__all__ = ['OptionalTensorboardVisBackend']
