"""CACAI: correlation-aware channel-adaptive interpolation (docs/algorithm.md
§4)."""
from typing import List, NamedTuple, Optional, Union

import torch

from gcahng.registry import MODELS
from .base import BaseNegativeGenerator


class PairGeometry(NamedTuple):
    """What CACAI needs from ``z`` alone (docs/algorithm.md §4), for one batch.

    Attributes:
        diff (Tensor): ``c - x`` for every anchor ``x = z_i`` and candidate
            ``c = z_j``: ``[M, N, M, N, D]``, entry ``[a, n, g, m]``.
        dist (Tensor): ``d = ‖x - c + eps‖``, ``[M, N, M, N]``.
        d_pos (Tensor): ``d⁺`` of every anchor, ``[M, N, 1, 1]``.
    """
    diff: torch.Tensor
    dist: torch.Tensor
    d_pos: torch.Tensor

    def detach(self) -> 'PairGeometry':
        """The same geometry without autograd history (for ``sg(z)``)."""
        return PairGeometry(*(t.detach() for t in self))


class MemoryNegatives(NamedTuple):
    """Synthetic negatives made from memory candidates
    (:meth:`CACAIGenerator.memory_negatives`, docs/algorithm.md §10).

    Attributes:
        synthetic (Tensor): ``S^mem [M, N, K', D]``: ``[a, n, k]`` the
            negative made for anchor ``(a, n)`` from its ``k``-th memory
            candidate.
        labels (Tensor): ``[M, N, K']`` the candidates' classes.
        valid (Tensor): ``[M, N, K']`` False where the candidate has the
            anchor's class (never a negative) or is missing.
        index (Tensor): ``[M, N, K']`` the candidates' memory indices.
    """
    synthetic: torch.Tensor
    labels: torch.Tensor
    valid: torch.Tensor
    index: torch.Tensor


@MODELS.register_module()
class CACAIGenerator(BaseNegativeGenerator):
    """Synthesise hard negatives by channel-adaptive interpolation,
    docs/algorithm.md §4.

    The batch is in docs/algorithm.md §1 group order (sample ``i = g·N + n``).
    For anchor group ``a`` and class slot ``n``: anchor ``x = z_{aN+n}``,
    positive ``p = z_{((a+1) mod M)N+n}``, ``d⁺ = ‖x - p‖``. For every group
    ``g`` and class slot ``m``: candidate ``c = z_{gN+m}``, ``d⁻ = ‖x - c‖``,
    ``λ̃ = η·λ_{aN+n, gN+m}`` and::

        r = (d⁺ + (d⁻ - d⁺)·λ̃) / d⁻           (one coefficient per channel)
        ẑ = x + r ⊙ (c - x)   if d⁻ > d⁺,   else ẑ = c

    Distances are Euclidean on the un-normalised ``z`` with ``eps`` added
    inside the norm like the reference (``‖x - c + eps‖``, i.e.
    ``F.pairwise_distance``); the division only happens where
    ``d⁻ > d⁺ ≥ 0``, and the other branch divides by 1, so no inf/NaN
    reaches the gradients.

    Fusion of the ``M`` interpolations ``ẑ^(g)`` of class ``m`` for anchor
    ``(a, n)``:

    - ``'random_weighting'`` (reference): ``s ← ẑ^(0)``; for
      ``g = 1 … M-1``: ``s ← ẑ^(g) + u_g·(s - ẑ^(g))``, ``u_g ~ U(0, 1)``,
      one ``u`` per (anchor group ``a``, ``g``) as in the reference. It is
      computed in closed form, ``S = Σ_g w_g ẑ^(g)`` with
      ``w_0 = Π_{k≥1} u_k`` and ``w_g = (1 - u_g)·Π_{k>g} u_k`` (a convex
      combination), without materialising the ``ẑ^(g)``: with
      ``ẑ = x + (α + β·η·λ) ⊙ (c - x)``, ``α = d⁺/d⁻`` and
      ``β = (d⁻ - d⁺)/d⁻`` where ``d⁻ > d⁺`` and ``α = 1``, ``β = 0``
      elsewhere (``ẑ = c``),
      ``S = (Σ_g w_g)·x + Σ_g (w_g α_g + w_g β_g η λ_g) ⊙ (c_g - x)``:
      one ``[M, N, M, N, D]`` product with ``λ`` instead of a chain of them
      (equal to :meth:`interpolate` + fusion up to float rounding,
      tested).
    - ``'random_pick'`` ("w/o random weighting"): one ``ẑ^(g)`` with ``g``
      uniform in ``[0, M)``, one draw per anchor group (the granularity of
      ``u`` above).

    ``S_a[n, m]`` is the synthetic negative of class ``m`` for anchor
    ``(a, n)``; ``S_a[n, n]`` is a same-class sample, never a negative.

    The module has no parameters. It is differentiable w.r.t. ``z`` and
    ``λ``: step 4 (the generation stage) back-propagates ``L_gen`` through
    ``λ`` into the graph head; step 2 (the metric stage) passes
    ``λ.detach()`` (docs/algorithm.md §6).

    Args:
        interpolation (str): ``'channel'`` (CACAI, ``λ ∈ (0,1)^D`` per pair)
            or ``'single'`` (HDML's single coefficient: ``λ ≡ 1``, so
            ``λ̃ = η`` and ``r`` is one scalar per pair; ``lambdas`` is
            ignored and may be None).
        fusion (str): ``'random_weighting'`` or ``'random_pick'``.
        eps (float): Added inside the distance norm (reference: 1e-6).
        init_cfg (dict, optional): MMEngine initialisation config.
    """
    INTERPOLATIONS = ('channel', 'single')
    FUSIONS = ('random_weighting', 'random_pick')

    def __init__(self,
                 interpolation: str = 'channel',
                 fusion: str = 'random_weighting',
                 eps: float = 1e-6,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if interpolation not in self.INTERPOLATIONS:
            raise ValueError(f'interpolation must be one of '
                             f'{self.INTERPOLATIONS}, got {interpolation!r}')
        if fusion not in self.FUSIONS:
            raise ValueError(
                f'fusion must be one of {self.FUSIONS}, got {fusion!r}')
        self.interpolation = interpolation
        self.fusion = fusion
        self.eps = eps

    @staticmethod
    def _groups(z: torch.Tensor, num_classes: int,
                num_per_class: int) -> torch.Tensor:
        """``z [B, D]`` in group order as ``[M, N, D]`` (checked)."""
        b, d = z.shape
        if b != num_classes * num_per_class:
            raise ValueError(f'CACAIGenerator: batch of {b} embeddings is not '
                             f'N*M = {num_classes}*{num_per_class}')
        return z.view(num_per_class, num_classes, d)

    @staticmethod
    def _check_lambdas(z: torch.Tensor,
                       lambdas: Optional[torch.Tensor]) -> None:
        """Channel-wise interpolation needs ``λ [B, B, D]``."""
        b, d = z.shape
        if lambdas is None or lambdas.shape != (b, b, d):
            raise ValueError(
                'CACAIGenerator(interpolation="channel") needs lambdas '
                f'of shape {(b, b, d)}, got '
                f'{None if lambdas is None else tuple(lambdas.shape)}')

    def interpolate(self,
                    z: torch.Tensor,
                    lambdas: Optional[torch.Tensor],
                    hardness: Union[float, torch.Tensor],
                    num_classes: int,
                    num_per_class: int,
                    anchor_grad: bool = True) -> torch.Tensor:
        """All interpolations ``ẑ`` before fusion.

        Args:
            z (Tensor): ``[B, D]`` in group order, ``B = N·M``.
            lambdas (Tensor, optional): ``λ`` of shape ``[B, B, D]``
                (unused with ``interpolation='single'``).
            hardness (float | Tensor): ``η`` (a scalar).
            num_classes (int): ``N``.
            num_per_class (int): ``M``.
            anchor_grad (bool): See :meth:`forward`.

        Returns:
            Tensor: ``[M, N, M, N, D]``; entry ``[a, n, g, m]`` is
            ``ẑ^(g)`` of class ``m`` for anchor ``(a, n)``.
        """
        n_cls, m_per = num_classes, num_per_class
        d = z.size(-1)
        groups = self._groups(z, n_cls, m_per)
        anchors = groups.view(m_per, n_cls, 1, 1, d)
        positives = groups.roll(-1, dims=0).view(m_per, n_cls, 1, 1, d)
        cands = groups.view(1, 1, m_per, n_cls, d)
        d_pos = (anchors - positives + self.eps).norm(dim=-1, keepdim=True)
        d_neg = (anchors - cands + self.eps).norm(dim=-1, keepdim=True)
        if self.interpolation == 'single':
            lam = hardness
        else:
            self._check_lambdas(z, lambdas)
            lam = hardness * lambdas.view(m_per, n_cls, m_per, n_cls, d)
        return self._move_towards(anchors, cands, d_pos, d_neg, lam,
                                  anchor_grad)

    @staticmethod
    def _move_towards(anchors: torch.Tensor, cands: torch.Tensor,
                      d_pos: torch.Tensor, d_neg: torch.Tensor,
                      lam: Union[float, torch.Tensor],
                      anchor_grad: bool) -> torch.Tensor:
        """The interpolation of docs/algorithm.md §4, shared by the batch's
        and the memory's candidates: where ``d⁻ > d⁺`` the anchor moves
        towards the candidate to ``d⁺ + (d⁻ - d⁺)·λ``, elsewhere the
        candidate is kept as it is (broadcast to the result's shape)."""
        interp = d_neg > d_pos
        denom = torch.where(interp, d_neg, torch.ones_like(d_neg))
        ratio = (d_pos + (d_neg - d_pos) * lam) / denom
        if not anchor_grad:
            anchors, ratio = anchors.detach(), ratio.detach()
        moved = anchors + ratio * (cands - anchors)
        return torch.where(interp, moved, cands.expand_as(moved))

    @staticmethod
    def fusion_coefficients(u: torch.Tensor) -> torch.Tensor:
        """Closed form of the random-weighting recursion.

        Args:
            u (Tensor): ``[..., M-1]``, ``u[..., g-1]`` is the weight of step
                ``g``.

        Returns:
            Tensor: ``w [..., M]`` with ``w_0 = Π_{k≥1} u_k``,
            ``w_g = (1 - u_g)·Π_{k>g} u_k``; ``Σ_g w_g = 1``.
        """
        u_full = torch.cat([u.new_zeros(u.shape[:-1] + (1, )), u], dim=-1)
        ones = u.new_ones(u.shape[:-1] + (1, ))
        # suffix[g] = Π_{k>g} u_k
        suffix = torch.cat([u_full[..., 1:], ones], dim=-1)
        suffix = suffix.flip(-1).cumprod(-1).flip(-1)
        return (1 - u_full) * suffix

    def geometry(self, z: torch.Tensor, num_classes: int,
                 num_per_class: int) -> PairGeometry:
        """Differences and distances of every (anchor, candidate) pair.

        They depend on ``z`` only, so one iteration can compute them once
        and pass them (detached for ``sg(z)``) to both of its calls
        (docs/algorithm.md §6 stages 2 and 4).

        Args:
            z (Tensor): ``[B, D]`` in group order, ``B = N·M``.
            num_classes (int): ``N``.
            num_per_class (int): ``M``.

        Returns:
            PairGeometry: ``diff``, ``dist`` and ``d_pos``; the distances
            are those of :meth:`interpolate` (``‖x - c + eps‖``).
        """
        n_cls, m_per = num_classes, num_per_class
        d = z.size(-1)
        groups = self._groups(z, n_cls, m_per)
        diff = groups.view(1, 1, m_per, n_cls, d) - groups.view(
            m_per, n_cls, 1, 1, d)  # c - x
        # ‖x - c + eps‖ = ‖(c - x) - eps‖ exactly (IEEE negation)
        dist = (diff - self.eps).norm(dim=-1)
        # d⁺ of anchor (a, n): candidate ((a + 1) mod M, n)
        nxt = torch.arange(1, m_per + 1, device=z.device) % m_per
        pos = dist[torch.arange(m_per, device=z.device), :, nxt]  # [a, n, m]
        d_pos = pos.diagonal(dim1=1, dim2=2).view(m_per, n_cls, 1, 1)
        return PairGeometry(diff, dist, d_pos)

    def pair_geometry(self, z: torch.Tensor, num_classes: int,
                      num_per_class: int) -> Optional[PairGeometry]:
        """:meth:`geometry` for ``'random_weighting'``, the fusion that
        uses it; None for ``'random_pick'``, which interpolates through
        :meth:`interpolate` and never reads it."""
        if self.fusion != 'random_weighting':
            return None
        return self.geometry(z, num_classes, num_per_class)

    def forward(self,
                z: torch.Tensor,
                lambdas: Optional[torch.Tensor],
                hardness: Union[float, torch.Tensor],
                num_classes: int,
                num_per_class: int,
                generator: Optional[torch.Generator] = None,
                fusion_weights: Optional[torch.Tensor] = None,
                geometry: Optional[PairGeometry] = None,
                anchor_grad: bool = True) -> torch.Tensor:
        """Synthetic negatives ``S``.

        Args:
            z (Tensor): ``[B, D]`` in group order.
            lambdas (Tensor, optional): ``[B, B, D]``.
            hardness (float | Tensor): ``η = exp(-α / J̄_m)``.
            num_classes (int): ``N``.
            num_per_class (int): ``M``.
            generator (torch.Generator, optional): Source of the random
                fusion weights / picks (reproducible draws).
            fusion_weights (Tensor, optional): ``u`` for
                ``'random_weighting'``, broadcastable to ``[M, N, N, M-1]``
                (``[a, n, m, g-1]``); a ``[M, M-1]`` tensor is one ``u`` per
                (anchor group, ``g``) like the reference. Drawn from
                ``U(0, 1)`` per (anchor group, ``g``) when None.
            geometry (PairGeometry, optional): :meth:`geometry` of ``z``
                (computed here when None).
            anchor_grad (bool): False: ``S`` is differentiable w.r.t. its
                candidates ``c`` only, with the interpolation coefficients
                and the anchors held constant,
                ``S = sg(x) + Σ_g sg(w_g r_g) ⊙ (c_g - sg(x))``: a loss that
                pushes ``S`` away moves the real negatives it was made from,
                never its own anchor (docs/algorithm.md §7). The values are
                unchanged.

        Returns:
            Tensor: ``S [M, N, N, D]``, ``S[a, n, m]`` the negative of class
            ``m`` for anchor ``(a, n)``.
        """
        m_per, n_cls = num_per_class, num_classes
        if self.fusion == 'random_pick':
            zhat = self.interpolate(z, lambdas, hardness, n_cls, m_per,
                                    anchor_grad)
            zhat = zhat.permute(0, 1, 3, 2, 4)  # [a, n, m, g, D]
            pick = self._rand((m_per, ), generator, z, integers=m_per)
            idx = pick.view(m_per, 1, 1, 1, 1).expand(-1, n_cls, n_cls, 1,
                                                      zhat.size(-1))
            return zhat.gather(3, idx).squeeze(3)
        d = z.size(-1)
        if geometry is None:
            geometry = self.geometry(z, n_cls, m_per)
        if self.interpolation == 'channel':
            self._check_lambdas(z, lambdas)
        if fusion_weights is None:
            u = self._rand((m_per, 1, 1, m_per - 1), generator, z)
        else:
            u = fusion_weights.to(z)
            if u.dim() == 2 and u.shape == (m_per, m_per - 1):
                u = u.view(m_per, 1, 1, m_per - 1)
        w = self.fusion_coefficients(u)  # [a, n|1, m|1, g]
        w = w.permute(0, 1, 3, 2)  # [a, n, g, m]: pairs (a, n) -> (g, m)
        diff, dist, d_pos = geometry
        anchors = z.view(m_per, n_cls, 1, d)
        if not anchor_grad:  # c - sg(x), coefficients constant
            dist, d_pos = dist.detach(), d_pos.detach()
            diff = diff + (anchors - anchors.detach()).unsqueeze(2)
            anchors = anchors.detach()
        interp = dist > d_pos
        denom = torch.where(interp, dist, torch.ones_like(dist))
        alpha = torch.where(interp, d_pos / denom, torch.ones_like(dist))
        beta = torch.where(interp, (dist - d_pos) / denom,
                           torch.zeros_like(dist))
        coef_lam = (hardness * w) * beta  # [a, n, g, m]
        coef = w * alpha
        if self.interpolation == 'single':  # λ ≡ 1
            coef = (coef + coef_lam).unsqueeze(-1)
        else:
            coef = torch.addcmul(
                coef.unsqueeze(-1), coef_lam.unsqueeze(-1),
                lambdas.view(m_per, n_cls, m_per, n_cls, d))
        w_sum = w.sum(dim=2).unsqueeze(-1)  # Σ_g w_g (= 1 up to rounding)
        w_sum = w_sum.expand(m_per, n_cls, n_cls, 1)
        return anchors * w_sum + (coef * diff).sum(dim=2)

    #: :class:`GCAHNG` may switch on a memory graph with this generator
    supports_memory = True

    def memory_negatives(self,
                         z: torch.Tensor,
                         labels: torch.Tensor,
                         memory_feats: torch.Tensor,
                         memory_labels: torch.Tensor,
                         lambdas: Optional[torch.Tensor],
                         hardness: Union[float, torch.Tensor],
                         num_classes: int,
                         num_per_class: int,
                         topk: Optional[int] = None,
                         anchor_grad: bool = True) -> MemoryNegatives:
        """Extra synthetic negatives from memory candidates,
        docs/algorithm.md §10.

        For anchor ``x = z_{aN+n}`` (positive and ``d⁺`` as in
        :meth:`forward`) and memory candidate ``c = m_k``:
        ``d⁻ = ‖x - c + eps‖``, ``λ̃ = η·λ_{aN+n, B+k}`` and the §4
        formula, ``ẑ = x + r ⊙ (c - x)`` with
        ``r = (d⁺ + (d⁻ - d⁺)·λ̃) / d⁻`` where ``d⁻ > d⁺``, else
        ``ẑ = c``. There is one memory candidate per negative, so no
        fusion. Same-class candidates are masked (``valid``).

        Args:
            z (Tensor): ``[B, D]`` in group order.
            labels (Tensor): ``[B]``.
            memory_feats (Tensor): ``[K, D]`` in the view of ``z``.
            memory_labels (Tensor): ``[K]``.
            lambdas (Tensor, optional): ``[B, B + K, D]`` (the graph head's
                output with a memory; only ``[:, B:]`` is read) or the
                batch-memory part ``[B, K, D]``; unused with
                ``interpolation='single'``.
            hardness (float | Tensor): ``η``.
            num_classes (int): ``N``.
            num_per_class (int): ``M``.
            topk (int, optional): Keep each anchor's ``topk`` hardest
                (nearest) valid candidates; None keeps all ``K``.
            anchor_grad (bool): As in :meth:`forward`: False holds the
                anchor and the coefficients constant (``S^mem`` then has
                no gradient, the memory being detached).

        Returns:
            MemoryNegatives
        """
        n_cls, m_per = num_classes, num_per_class
        b, d = z.shape
        k_mem = memory_feats.size(0)
        groups = self._groups(z, n_cls, m_per)
        x = z.view(b, 1, d)
        pos = groups.roll(-1, dims=0).reshape(b, 1, d)
        memory_feats = memory_feats.to(z)
        dist = (memory_feats.view(1, k_mem, d) - x - self.eps).norm(dim=-1)
        d_pos = (x - pos + self.eps).norm(dim=-1).unsqueeze(-1)  # [B,1,1]
        memory_labels = memory_labels.to(z.device)
        valid = labels.reshape(b, 1).to(z.device) != memory_labels.view(
            1, k_mem)  # [B, K]
        index = torch.arange(k_mem, device=z.device).expand(b, k_mem)
        lam = None
        if self.interpolation == 'channel':
            if lambdas is None or lambdas.shape[0] != b or \
                    lambdas.shape[1] not in (k_mem, b + k_mem):
                raise ValueError(
                    'CACAIGenerator.memory_negatives needs lambdas of shape '
                    f'{(b, b + k_mem, d)}, got '
                    f'{None if lambdas is None else tuple(lambdas.shape)}')
            lam = lambdas[:, lambdas.shape[1] - k_mem:]
        if topk is not None and topk < k_mem:
            key = dist.detach().masked_fill(~valid, float('inf'))
            index = key.topk(topk, dim=1, largest=False).indices
            dist = dist.gather(1, index)
            valid = valid.gather(1, index)
            if lam is not None:
                lam = lam.gather(1, index.unsqueeze(-1).expand(-1, -1, d))
        cands = memory_feats[index]  # [B, K', D]
        lam = hardness if lam is None else hardness * lam
        synthetic = self._move_towards(x, cands, d_pos, dist.unsqueeze(-1),
                                       lam, anchor_grad)
        kk = index.size(1)
        return MemoryNegatives(
            synthetic.view(m_per, n_cls, kk, d),
            memory_labels[index].view(m_per, n_cls, kk),
            valid.view(m_per, n_cls, kk), index.view(m_per, n_cls, kk))

    @staticmethod
    def _rand(size: tuple,
              generator: Optional[torch.Generator],
              like: torch.Tensor,
              integers: Optional[int] = None) -> torch.Tensor:
        """``U(0, 1)`` (or ``randint(0, integers)``) drawn on the
        generator's device, moved to ``like``'s device."""
        device = generator.device if generator is not None else like.device
        if integers is not None:
            out = torch.randint(
                0, integers, size, generator=generator, device=device)
            return out.to(like.device)
        out = torch.rand(size, generator=generator, device=device)
        return out.to(device=like.device, dtype=like.dtype)

    def extra_repr(self) -> str:
        return (f'interpolation={self.interpolation!r}, '
                f'fusion={self.fusion!r}, eps={self.eps}')


__all__ = ['CACAIGenerator', 'MemoryNegatives', 'PairGeometry']
