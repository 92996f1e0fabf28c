"""Generator-based hard negatives: the "generator-based" row of Table 8."""
from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from gcahng.registry import MODELS
from .base import BaseNegativeGenerator
from .cacai_generator import CACAIGenerator, PairGeometry


@MODELS.register_module()
class HDMLGenerator(BaseNegativeGenerator):
    """Single-coefficient interpolation followed by a generator network,
    docs/algorithm.md §4 ablation "generator-based" (paper Table 8).

    The negatives are ``S = G(ẑ)``: ``ẑ`` is CACAI with HDML's single
    coefficient (``λ ≡ 1``, so ``r = (d⁺ + (d⁻ - d⁺)·η) / d⁻`` is one scalar
    per pair, :class:`CACAIGenerator` with ``interpolation='single'``), and
    ``G`` is a two-layer fully connected network applied to every synthetic
    embedding (HDML, Zheng et al., CVPR 2019)::

        G(x) = W₂ · ReLU(W₁ x + b₁) + b₂

    ``G`` is trained in the generation stage (docs/algorithm.md §6, step 4)
    together with the graph head (it belongs to the ``graph`` optimiser) by
    ``L_gen`` plus HDML's reconstruction loss on the real embeddings,
    ``L_recon = w · mean_i ‖G(z_i) - z_i‖² / D`` (returned by
    :meth:`forward` as ``loss_recon``), which keeps the generated negatives
    on the embedding manifold.

    The paper names the ablation but not the network. Our reading,
    documented here: HDML's generator maps the augmented embedding back to the
    backbone's feature space and re-embeds it; the GCA-HNG losses act on
    embeddings, so ``G`` maps embedding to embedding (width ``D`` in and
    out, hidden width ``hidden_dim``) and the reconstruction target is the
    input embedding itself. Step 2 uses ``G`` as a fixed function (its
    parameters receive no gradient from ``L_syn``, as HDML's ``J_metric``
    does not train its generator): :class:`GCAHNG` runs that pass with the
    parameters frozen.

    Args:
        embed_dim (int): ``D``.
        hidden_dim (int, optional): Hidden width of ``G``; ``D`` when None.
        loss_recon_weight (float): ``w`` of ``L_recon`` (HDML: 1).
        fusion (str): Fusion of the ``M`` interpolations, as in
            :class:`CACAIGenerator`.
        eps (float): Distance ``eps``, as in :class:`CACAIGenerator`.
        init_cfg (dict, optional): MMEngine initialisation config.
    """

    def __init__(self,
                 embed_dim: int,
                 hidden_dim: Optional[int] = None,
                 loss_recon_weight: float = 1.0,
                 fusion: str = 'random_weighting',
                 eps: float = 1e-6,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        hidden_dim = hidden_dim or embed_dim
        self.interpolator = CACAIGenerator(
            interpolation='single', fusion=fusion, eps=eps)
        self.net = nn.Sequential(
            nn.Linear(embed_dim, hidden_dim), nn.ReLU(inplace=True),
            nn.Linear(hidden_dim, embed_dim))
        self.loss_recon_weight = loss_recon_weight

    def pair_geometry(self, z: torch.Tensor, num_classes: int,
                      num_per_class: int) -> Optional[PairGeometry]:
        """The interpolator's :meth:`CACAIGenerator.pair_geometry`."""
        return self.interpolator.pair_geometry(z, num_classes, num_per_class)

    def forward(self, z: torch.Tensor, lambdas: Optional[torch.Tensor], *args,
                **kwargs) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
        """Generated negatives and the reconstruction loss.

        Args:
            z (Tensor): ``[B, D]`` in group order, ``B = N·M``.
            lambdas (Tensor, optional): Ignored (single coefficient).
            *args, **kwargs: ``hardness, num_classes, num_per_class``, and
                optionally ``generator, fusion_weights, geometry,
                anchor_grad``, as in :meth:`CACAIGenerator.forward`.

        Returns:
            tuple: ``S [M, N, N, D]`` and ``dict(loss_recon=L_recon)``.
        """
        zhat = self.interpolator(z, None, *args, **kwargs)
        b, d = z.shape
        # one pass through G for the negatives and the reconstruction
        out = self.net(torch.cat([zhat.reshape(-1, d), z]))
        synthetic = out[:-b].view_as(zhat)
        loss_recon = F.mse_loss(out[-b:].float(), z.float())
        return synthetic, dict(loss_recon=self.loss_recon_weight * loss_recon)


__all__ = ['HDMLGenerator']
