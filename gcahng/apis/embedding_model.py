"""The inference model: ``e = z / ||z||`` with ``z = neck(backbone(x))``."""
import torch
import torch.nn as nn
import torch.nn.functional as F


class EmbeddingModel(nn.Module):
    """The part of a trained metric model that is used after training.

    ``e(x) = z / max(||z||_2, 1e-12)`` with ``z = neck(backbone(x))``
    (docs/algorithm.md): the embedding that the retrieval metric ranks by
    inner product (cosine similarity). The GCL graph head, CACAI, h₁ and the
    metric loss are training-only and left out. Input: the data
    preprocessor's output (``[B, 3, H, W]``, normalised RGB); output:
    float32 ``[B, D]``. This is the module that
    ``tools/deployment/pytorch2onnx.py`` exports.

    Args:
        retriever (nn.Module): A ``DMLRetriever`` / ``GCAHNG`` (anything
            with ``backbone`` and ``neck``), in eval mode.
    """

    def __init__(self, retriever: nn.Module) -> None:
        super().__init__()
        self.backbone = retriever.backbone
        self.neck = retriever.neck

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """``[B, 3, H, W] -> [B, D]``, rows of unit L2 norm."""
        return F.normalize(self.neck(self.backbone(inputs)).float(), dim=1)
