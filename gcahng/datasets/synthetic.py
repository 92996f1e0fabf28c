"""A procedurally generated fine-grained image dataset.

``SyntheticFineGrained`` needs no files and no download: every image is
rendered from its class attributes and a per-sample random state, so it is
the project's built-in dataset for the demo and the CPU tests.
"""
import math
from typing import Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from mmpretrain.datasets import BaseDataset

from gcahng.registry import DATASETS

# --------------------------------------------------------------------------
# Attribute vocabulary. Every layout below is symmetric under a horizontal
# flip (``RandomFlip`` must not turn one class into another): stripes are
# horizontal or vertical, marks come in mirror pairs or on the vertical axis.
# --------------------------------------------------------------------------

SHAPES = ('circle', 'square', 'triangle', 'star', 'cross', 'ring', 'dome',
          'hexagon')

# name, (background, foreground, accent, mark A, mark B) in RGB.
PALETTES = (
    ('navy-sand', ((226, 211, 170), (38, 62, 130), (120, 160, 230),
                   (240, 50, 40), (250, 250, 250))),
    ('teal-cream', ((245, 236, 210), (20, 128, 120), (150, 220, 200),
                    (40, 20, 80), (250, 120, 20))),
    ('red-grey', ((170, 170, 170), (190, 40, 40), (250, 150, 120),
                  (250, 250, 80), (20, 20, 120))),
    ('olive-sky', ((170, 205, 235), (110, 120, 30), (210, 210, 110),
                   (140, 20, 120), (250, 250, 250))),
    ('violet-mint', ((200, 240, 210), (110, 50, 150), (200, 150, 230),
                     (250, 130, 0), (20, 20, 20))),
    ('orange-slate', ((70, 80, 95), (235, 140, 40), (255, 215, 140),
                      (30, 200, 250), (120, 20, 40))),
    ('black-rose', ((240, 190, 200), (40, 40, 40), (140, 140, 140),
                    (60, 220, 60), (240, 230, 40))),
    ('white-green', ((60, 120, 70), (235, 235, 235), (150, 180, 160),
                     (220, 30, 90), (30, 60, 200))),
)

# Texture type -> variants. A genus uses one type; its species use two
# different variants of it.
TEXTURES: Dict[str, Tuple[Tuple, ...]] = {
    # (orientation: 0 horizontal / 1 vertical, frequency in cycles/radius)
    'stripes': ((0, 2.0), (0, 3.5), (1, 2.0), (1, 3.5)),
    # (lattice period in radius units, dot radius as a fraction of period)
    'dots': ((0.8, 0.28), (0.5, 0.3), (0.8, 0.4), (0.5, 0.2)),
    # (cells per radius)
    'checker': ((1.5, ), (2.5, ), (3.5, )),
    # (border width in radius units)
    'outline': ((0.12, ), (0.28, ), (0.42, )),
}
TEXTURE_TYPES = tuple(TEXTURES)

# Mark layouts: glyph centres in the object frame (radius units, y down).
MARKS = (
    ('top', ((0.0, -0.55), )),
    ('bottom', ((0.0, 0.55), )),
    ('centre', ((0.0, 0.0), )),
    ('sides', ((-0.55, 0.0), (0.55, 0.0))),
    ('upper-pair', ((-0.4, -0.45), (0.4, -0.45))),
    ('lower-pair', ((-0.4, 0.45), (0.4, 0.45))),
    ('column', ((0.0, -0.5), (0.0, 0.5))),
)
MARK_COLOURS = ('A', 'B')

# Species inside a genus walk a Gray code over (texture variant, mark
# layout, mark colour), each with two options per genus: class c and c + 1
# differ in exactly one attribute, any two species of a genus in at most
# three.
SPECIES_CODES = ((0, 0, 0), (1, 0, 0), (1, 1, 0), (0, 1, 0), (0, 1, 1),
                 (1, 1, 1), (1, 0, 1), (0, 0, 1))
SPECIES_PER_GENUS = len(SPECIES_CODES)

MAX_CLASSES = (
    len(SHAPES) * len(PALETTES) * len(TEXTURE_TYPES) * SPECIES_PER_GENUS)


def _polygon(name: str) -> List[np.ndarray]:
    """Contours of a shape in the object frame (unit radius, y down).

    The first contour is filled, further ones are cut out as holes.
    """

    def regular(n: int, r: float = 1.0, phase: float = -math.pi / 2):
        t = phase + 2 * math.pi * np.arange(n) / n
        return np.stack([r * np.cos(t), r * np.sin(t)], axis=1)

    if name == 'circle':
        return [regular(48)]
    if name == 'ring':
        return [regular(48), regular(48, 0.55)]
    if name == 'square':
        return [np.array([[-.8, -.8], [.8, -.8], [.8, .8], [-.8, .8]])]
    if name == 'dome':
        t = np.linspace(math.pi, 2 * math.pi, 33)
        return [np.stack([np.cos(t) * 1.1, np.sin(t) * 1.1 + 0.45], axis=1)]
    if name == 'triangle':
        return [regular(3) * 1.1 + np.array([0.0, 0.15])]
    if name == 'hexagon':
        return [regular(6, phase=0.0)]
    if name == 'star':
        pts = regular(10)
        pts[1::2] *= 0.5
        return [pts]
    if name == 'cross':
        a, b = 0.32, 0.95
        return [
            np.array([[-a, -b], [a, -b], [a, -a], [b, -a], [b, a], [a, a],
                      [a, b], [-a, b], [-a, a], [-b, a], [-b, -a], [-a, -a]])
        ]
    raise KeyError(name)


_POLYGONS = {name: _polygon(name) for name in SHAPES}


def class_attributes(num_classes: int, class_seed: int = 0) -> List[dict]:
    """Attributes of classes ``0 .. num_classes - 1``.

    Classes come in genera of eight species. A genus fixes the shape, the
    palette and the texture type; its species differ in the texture
    variant, the mark layout and/or the mark colour (two options each,
    drawn per genus), walking a Gray code so that class ``c`` and ``c + 1``
    of a genus differ in one attribute.

    Genera come in rounds of four that use the same four shapes, palettes
    and texture types in a new combination (a Latin-square shift): with the
    default 64 classes the train half (genera 0-3) and the test half
    (genera 4-7) see the same attribute values, and each test genus shares
    at most one of shape, palette and texture type with any train genus.
    Every genus is a distinct combination, up to :data:`MAX_CLASSES`.

    Args:
        num_classes (int): Number of classes, at most :data:`MAX_CLASSES`.
        class_seed (int): Seed of the class design. Defaults to 0.

    Returns:
        list[dict]: One dict per class with ``shape``, ``palette`` (index),
        ``texture``, ``texture_variant`` (index), ``marks`` (index),
        ``mark_colour`` (0 or 1), ``genus`` and ``name``.
    """
    if not 1 <= num_classes <= MAX_CLASSES:
        raise ValueError(f'num_classes must be in [1, {MAX_CLASSES}], '
                         f'got {num_classes}')
    rng = np.random.default_rng([class_seed, 0x5EED])
    num_genera = -(-num_classes // SPECIES_PER_GENUS)
    shapes = rng.permutation(len(SHAPES))
    palettes = rng.permutation(len(PALETTES))
    textures = rng.permutation(len(TEXTURE_TYPES))
    classes = []
    for genus in range(num_genera):
        # genus = (block * 16 + rnd) * 4 + r: shape r, palette r + a and
        # texture r + b (mod 4), with the shifts (a, b) of round ``rnd``
        # changing both coordinates from one round to the next; a block
        # of 16 rounds uses 4 shapes and 4 palettes, the next block
        # swaps in the other 4 shapes and/or palettes.
        r, rnd, block = genus % 4, genus // 4 % 16, genus // 64
        a, b = rnd % 4, (2 * rnd + rnd // 4) % 4
        shape = SHAPES[shapes[r + 4 * (block % 2)]]
        palette = int(palettes[(r + a) % 4 + 4 * (block // 2)])
        texture = TEXTURE_TYPES[textures[(r + b) % 4]]
        variants = rng.choice(len(TEXTURES[texture]), 2, replace=False)
        marks = rng.choice(len(MARKS), 2, replace=False)
        for species, (tv, mk, mc) in enumerate(SPECIES_CODES):
            class_id = genus * SPECIES_PER_GENUS + species
            if class_id >= num_classes:
                break
            attr = dict(
                genus=genus,
                shape=shape,
                palette=palette,
                texture=texture,
                texture_variant=int(variants[tv]),
                marks=int(marks[mk]),
                mark_colour=mc)
            variant = '-'.join(
                f'{v:g}' for v in TEXTURES[texture][attr['texture_variant']])
            attr['name'] = (f'{class_id:03d}_{shape}_{PALETTES[palette][0]}_'
                            f'{texture}{variant}_{MARKS[attr["marks"]][0]}'
                            f'{MARK_COLOURS[mc]}')
            classes.append(attr)
    return classes


class _Renderer:
    """Draws one image from class attributes and a sample's random state.

    Args:
        img_size (tuple[int, int]): ``(height, width)``.
        difficulty (float): Scales the nuisance factors (rotation, scale and
            position range, colour jitter, noise, clutter). 1 is the default
            design, 0 renders clean centred images.
    """

    NOISE_STD = 6.0

    def __init__(self, img_size: Tuple[int, int], difficulty: float) -> None:
        self.h, self.w = img_size
        self.difficulty = difficulty
        ys, xs = np.mgrid[0:self.h, 0:self.w].astype(np.float32)
        self.xs = xs + 0.5
        self.ys = ys + 0.5
        self.xn = self.xs / self.w - 0.5
        self.yn = self.ys / self.h - 0.5
        self.size = float(min(self.h, self.w))
        # [P, 5, 3] BGR
        self.palettes = np.array([p for _, p in PALETTES],
                                 dtype=np.float32)[..., ::-1].copy()
        # constant colour images, filled lazily (np.full is slow)
        self._planes: Dict[Tuple[int, int], np.ndarray] = {}
        # a fixed bank of pixel noise, cropped at a random offset per sample
        bank_rng = np.random.default_rng(0x0015E)
        self.noise = bank_rng.standard_normal((2 * self.h, 2 * self.w, 3),
                                              dtype=np.float32)
        self.noise *= np.float32(self.NOISE_STD * difficulty)

    def _plane(self, palette: int, k: int) -> np.ndarray:
        key = (palette, k)
        if key not in self._planes:
            plane = np.empty((self.h, self.w, 3), np.float32)
            plane[...] = self.palettes[palette, k]
            self._planes[key] = plane
        return self._planes[key]

    @staticmethod
    def _soft(x: np.ndarray) -> np.ndarray:
        """Antialiased step: ``x`` is a signed distance in pixels."""
        return np.clip(x + 0.5, 0.0, 1.0)

    def _fill(self, contours: Sequence[np.ndarray], centre: np.ndarray,
              mat: np.ndarray) -> np.ndarray:
        """Antialiased coverage mask in [0, 1] of transformed contours."""
        mask = np.zeros((self.h, self.w), np.uint8)
        shift = 4
        for k, contour in enumerate(contours):
            pts = contour @ mat.T + centre
            pts = np.round(pts * (1 << shift)).astype(np.int32)
            cv2.fillPoly(mask, [pts], 0 if k else 255, cv2.LINE_AA, shift)
        return mask.astype(np.float32) * np.float32(1.0 / 255.0)

    def _texture(self, attr: dict, u: np.ndarray, v: np.ndarray,
                 radius_px: float, contours: Sequence[np.ndarray],
                 centre: np.ndarray, mat: np.ndarray,
                 mask: np.ndarray) -> np.ndarray:
        """Where the accent colour covers the shape, in [0, 1]."""
        kind = attr['texture']
        params = TEXTURES[kind][attr['texture_variant']]
        if kind == 'stripes':
            orient, freq = params
            coord = v if orient == 0 else u
            # signed distance (pixels) to the stripe edge, approximately
            phase = np.sin(coord * np.float32(2 * math.pi * freq))
            return self._soft(phase * np.float32(radius_px /
                                                 (2 * math.pi * freq)))
        if kind == 'dots':
            period, frac = params
            du = (u * np.float32(1 / period) + 0.5) % 1.0 - 0.5
            dv = (v * np.float32(1 / period) + 0.5) % 1.0 - 0.5
            dist = np.sqrt(du * du + dv * dv) * np.float32(period * radius_px)
            return self._soft(np.float32(frac * period * radius_px) - dist)
        if kind == 'checker':
            (cells, ) = params
            k = np.float32(math.pi * cells)
            s = np.sin(u * k) * np.sin(v * k)
            return self._soft(s * np.float32(radius_px / (math.pi * cells)))
        # outline: the border band between the shape and a shrunk copy
        (width, ) = params
        inner = self._fill(contours[:1], centre, mat * (1.0 - width))
        return np.clip(mask - inner, 0.0, 1.0)

    def __call__(self, attr: dict, rng: np.random.Generator) -> np.ndarray:
        """Render an ``HxWx3`` ``uint8`` BGR image."""
        d = self.difficulty
        h, w, size = self.h, self.w, self.size
        pal = attr['palette']
        bg = self.palettes[pal, 0]

        # pose: similarity transform plus a mild anisotropic stretch
        angle = math.radians(rng.uniform(-30, 30) * d)
        radius = size * 0.36 * (1.0 + d * rng.uniform(-0.3, 0.12))
        stretch = 1.0 + d * rng.uniform(-0.12, 0.12)
        centre = np.array([w / 2.0, h / 2.0])
        centre += d * 0.12 * size * rng.uniform(-1, 1, 2)
        cos_a, sin_a = math.cos(angle), math.sin(angle)
        rot = np.array([[cos_a, -sin_a], [sin_a, cos_a]])
        mat = radius * rot @ np.diag([stretch, 1.0 / stretch])

        # background with clutter: blobs in muted colours of any palette
        # (drawn aliased: cv2 antialiases 8-bit images only)
        img = self._plane(pal, 0).copy()
        for _ in range(rng.poisson(1.5 * d)):
            colour = self.palettes[rng.integers(len(PALETTES)),
                                   rng.integers(5)]
            colour = (0.5 * colour + 0.5 * bg).tolist()
            cx, cy = (rng.uniform(0, 16, 2) * (w, h)).astype(int).tolist()
            ax, ay = (rng.uniform(0.04, 0.12, 2) * 16 * size).astype(int)
            tilt = rng.uniform(0, 180)
            cv2.ellipse(img, (cx, cy), (int(ax), int(ay)), tilt, 0, 360,
                        colour, -1, cv2.LINE_8, 4)

        # shape with its texture
        contours = _POLYGONS[attr['shape']]
        mask = self._fill(contours, centre, mat)
        inv = np.linalg.inv(mat).astype(np.float32)
        px = self.xs - np.float32(centre[0])
        py = self.ys - np.float32(centre[1])
        u = inv[0, 0] * px + inv[0, 1] * py
        v = inv[1, 0] * px + inv[1, 1] * py
        tex = self._texture(attr, u, v, radius, contours, centre, mat, mask)
        obj = cv2.blendLinear(
            self._plane(pal, 1), self._plane(pal, 2), 1.0 - tex, tex)
        img = cv2.blendLinear(img, obj, 1.0 - mask, mask)

        # marks, antialiased through an 8-bit coverage mask
        marks = MARKS[attr['marks']][1]
        if marks:
            glyphs = np.zeros((h, w), np.uint8)
            r = int(round(0.14 * radius * 16))
            for pos in marks:
                x, y = ((mat @ np.asarray(pos) + centre) * 16).round()
                cv2.circle(glyphs, (int(x), int(y)), r, 255, -1, cv2.LINE_AA,
                           4)
            cover = glyphs.astype(np.float32) * np.float32(1.0 / 255.0)
            colour = self._plane(pal, 3 + attr['mark_colour'])
            img = cv2.blendLinear(img, colour, 1.0 - cover, cover)

        # illumination (gradient, brightness, colour gain) and sensor noise
        gx, gy = d * rng.uniform(-0.25, 0.25, 2)
        gain = (1.0 + d * rng.uniform(-0.2, 0.2)) * (
            1.0 + d * rng.uniform(-0.08, 0.08, 3))
        illum = 1.0 + (np.float32(gx) * self.xn + np.float32(gy) * self.yn)
        img *= illum[..., None]
        img *= gain.astype(np.float32)
        oy, ox = rng.integers(0, h + 1), rng.integers(0, w + 1)
        img += self.noise[oy:oy + h, ox:ox + w]
        img += 0.5
        np.clip(img, 0, 255, out=img)
        return img.astype(np.uint8)


@DATASETS.register_module()
class SyntheticFineGrained(BaseDataset):
    """Procedurally generated fine-grained image dataset.

    Classes are combinations of a shape (circle, square, triangle, star,
    cross, ring, dome, hexagon), a palette (background / foreground /
    accent / mark colours), a texture (stripes, dots, checker or outline,
    with a class-specific frequency, orientation or width) and marks (small
    round glyphs at class-specific positions in the object frame, in one of
    two class-specific colours). Classes come in genera of eight: a genus
    fixes shape, palette and texture type, and its species differ in the
    texture variant, the mark layout and/or the mark colour, so class ``c``
    and ``c + 1`` differ in one attribute only (see
    :func:`class_attributes`). Samples vary in pose (rotation, scale,
    stretch, position), background gradient and clutter, brightness and
    colour gain, and pixel noise. All attributes are invariant under a
    horizontal flip.

    As in the DML benchmarks train and test classes are disjoint:
    ``split='train'`` holds classes ``[0, num_classes // 2)``,
    ``split='test'`` the others, and ``split='all'`` every class. Labels
    (``gt_label``) are re-indexed from 0 within a split; ``class_id`` keeps
    the original id.

    Images are rendered lazily in :meth:`get_data_info` as ``HxWx3``
    ``uint8`` BGR arrays (key ``img``, plus ``img_shape`` / ``ori_shape``),
    ready for mmpretrain transforms without ``LoadImageFromFile``. A sample
    is a pure function of ``(seed, class_id, instance_id)``: the same index
    gives the identical image in any process, and an image does not depend
    on the split it is read from.

    Args:
        split (str): ``'train'``, ``'test'`` or ``'all'``.
            Defaults to ``'train'``.
        num_classes (int): Total number of classes over both splits.
            Defaults to 64.
        samples_per_class (int): Images per class. Defaults to 40.
        img_size (int | tuple[int, int]): Image size, an int or
            ``(height, width)``. Defaults to 64.
        seed (int): Seed of the per-sample nuisances. Defaults to 0.
        class_seed (int): Seed of the class design (which attributes each
            class has). Defaults to 0.
        difficulty (float): Scale of the nuisance factors; 0 renders clean,
            centred images. Defaults to 1.0.
        cache (bool): Keep rendered images in memory (about 12 KiB per
            64x64 image). Defaults to True.
        pipeline (Sequence): Processing pipeline. Defaults to ``()``.
        test_mode (bool): See :class:`mmengine.dataset.BaseDataset`.
            Defaults to False.
        metainfo (dict, optional): Extra meta information. Defaults to None.
        indices (int | Sequence[int], optional): Use a subset of the data.
            Defaults to None.
        lazy_init (bool): Defer building the data list. Defaults to False.
        **kwargs: Other arguments of :class:`mmpretrain.datasets.BaseDataset`
            (``serialize_data``, ``max_refetch``).
    """

    SPLITS = ('train', 'test', 'all')

    def __init__(self,
                 split: str = 'train',
                 num_classes: int = 64,
                 samples_per_class: int = 40,
                 img_size: Union[int, Tuple[int, int]] = 64,
                 seed: int = 0,
                 class_seed: int = 0,
                 difficulty: float = 1.0,
                 cache: bool = True,
                 pipeline: Sequence = (),
                 test_mode: bool = False,
                 metainfo: Optional[dict] = None,
                 indices: Optional[Union[int, Sequence[int]]] = None,
                 lazy_init: bool = False,
                 **kwargs) -> None:
        if split not in self.SPLITS:
            raise ValueError(f'split must be one of {self.SPLITS}, '
                             f'got {split!r}')
        if num_classes < 2 and split != 'all':
            raise ValueError('num_classes must be >= 2 to have both a train '
                             f'and a test split, got {num_classes}')
        if samples_per_class < 1:
            raise ValueError('samples_per_class must be >= 1, got '
                             f'{samples_per_class}')
        if isinstance(img_size, int):
            img_size = (img_size, img_size)
        self.split = split
        self.num_total_classes = num_classes
        self.samples_per_class = samples_per_class
        self.img_size = tuple(int(s) for s in img_size)
        self.seed = seed
        self.class_seed = class_seed
        self.difficulty = difficulty
        self.cache = cache
        self._cache: Dict[Tuple[int, int], np.ndarray] = {}

        self.all_class_attributes = class_attributes(num_classes, class_seed)
        half = num_classes // 2
        if split == 'train':
            self.class_ids = list(range(0, half))
        elif split == 'test':
            self.class_ids = list(range(half, num_classes))
        else:
            self.class_ids = list(range(num_classes))
        self._renderer = _Renderer(self.img_size, difficulty)

        names = tuple(self.all_class_attributes[c]['name']
                      for c in self.class_ids)
        metainfo = {'classes': names, **(metainfo or {})}
        super().__init__(
            ann_file='',
            metainfo=metainfo,
            pipeline=pipeline,
            test_mode=test_mode,
            indices=indices,
            lazy_init=lazy_init,
            **kwargs)

    def load_data_list(self) -> List[dict]:
        """One small dict per sample; images are rendered on access."""
        data_list = []
        for label, class_id in enumerate(self.class_ids):
            for instance_id in range(self.samples_per_class):
                data_list.append(
                    dict(
                        gt_label=label,
                        class_id=class_id,
                        instance_id=instance_id))
        return data_list

    def render(self, class_id: int, instance_id: int) -> np.ndarray:
        """Render (or fetch from the cache) one image.

        Args:
            class_id (int): Original class id in ``[0, num_classes)``.
            instance_id (int): Index of the sample within its class.

        Returns:
            np.ndarray: ``HxWx3`` ``uint8`` image in BGR order. Do not modify
            it in place when the cache is on.
        """
        key = (class_id, instance_id)
        img = self._cache.get(key)
        if img is None:
            rng = np.random.default_rng([self.seed, class_id, instance_id])
            img = self._renderer(self.all_class_attributes[class_id], rng)
            if self.cache:
                self._cache[key] = img
        return img

    def _get_ann_info(self, idx: int) -> dict:
        """The data info of ``idx`` without rendering its image."""
        return super().get_data_info(idx)

    def get_data_info(self, idx: int) -> dict:
        """Data info of ``idx`` with its rendered image under ``img``."""
        info = self._get_ann_info(idx)
        img = self.render(info['class_id'], info['instance_id']).copy()
        info['img'] = img
        info['img_shape'] = img.shape[:2]
        info['ori_shape'] = img.shape[:2]
        return info

    def get_gt_labels(self) -> np.ndarray:
        """Labels (re-indexed within the split) of all samples."""
        return np.array(
            [self._get_ann_info(i)['gt_label'] for i in range(len(self))],
            dtype=np.int64)

    def get_cat_ids(self, idx: int) -> List[int]:
        """The label of sample ``idx`` as a list, without rendering."""
        return [int(self._get_ann_info(idx)['gt_label'])]

    def extra_repr(self) -> List[str]:
        """The extra repr information of the dataset."""
        return [
            f'Split: \t{self.split}',
            f'Classes (of {self.num_total_classes}): \t'
            f'{self.class_ids[0]}..{self.class_ids[-1]}',
            f'Samples per class: \t{self.samples_per_class}',
            f'Image size: \t{self.img_size}',
            f'Seed: \t{self.seed}',
            f'Difficulty: \t{self.difficulty}',
        ]
