"""Visualisation: the vis backend of the configs, and what the analysis
tools share (:mod:`.analysis`: models, data, extraction, result files;
:mod:`.figures`: images, t-SNE, plots). The latter two are imported where
used, so that importing the package stays light."""
from .optional_tensorboard_backend import OptionalTensorboardVisBackend

__all__ = ['OptionalTensorboardVisBackend']
