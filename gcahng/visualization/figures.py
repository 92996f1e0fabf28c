"""The figures of the analysis tools: images as RGB ``uint8``, t-SNE,
``matplotlib`` on the Agg backend, class colours, PNG files. Heavy optional
dependencies (matplotlib, scikit-learn, mmcv's image reader) are imported
where they are used."""
import os
import os.path as osp
from typing import Optional, Union

import numpy as np
import torch

from gcahng.utils.cli import AnalysisError


def to_rgb_uint8(img: Union[np.ndarray, torch.Tensor],
                 bgr: bool = True) -> np.ndarray:
    """An ``HxW``, ``HxWxC`` or ``CxHxW`` image as ``HxWx3`` RGB uint8."""
    if isinstance(img, torch.Tensor):
        img = img.detach().cpu().numpy()
    img = np.asarray(img)
    if img.ndim == 3 and img.shape[0] in (1, 3) and img.shape[-1] not in (1,
                                                                          3):
        img = img.transpose(1, 2, 0)
    if img.ndim == 2:
        img = img[..., None]
    if img.shape[-1] == 1:
        img = np.repeat(img, 3, axis=-1)
    if img.dtype != np.uint8:
        img = np.clip(img, 0, 255).round().astype(np.uint8)
    return np.ascontiguousarray(img[..., ::-1] if bgr else img)


def raw_image(dataset, idx: int) -> np.ndarray:
    """The original image of sample ``idx`` as ``HxWx3`` RGB uint8.

    Read from the data info (``img`` as rendered by
    :class:`~gcahng.datasets.SyntheticFineGrained`, else the file at
    ``img_path``), not from the normalised network input. Datasets with
    neither fall back to the pipeline's (un-normalised) ``inputs``.
    """
    info = dataset.get_data_info(idx)
    img = info.get('img')
    if img is None and info.get('img_path'):
        import mmcv
        path = info['img_path']
        img = mmcv.imread(path) if osp.isfile(path) else None
        if img is None:
            raise AnalysisError(f'cannot read image {path} (sample {idx})')
    if img is None:
        img = dataset[idx]['inputs']
    return to_rgb_uint8(img, bgr=True)


def tsne_2d(x: np.ndarray,
            seed: int = 0,
            perplexity: float = 30.0,
            max_iter: Optional[int] = None) -> np.ndarray:
    """A 2-D t-SNE (scikit-learn) of the rows of ``x``; the perplexity is
    clipped to ``(n - 1) / 3`` for small sets."""
    try:
        from sklearn.manifold import TSNE
    except ImportError:
        raise AnalysisError('t-SNE needs scikit-learn: pip install '
                            'scikit-learn') from None
    n = len(x)
    if n < 4:
        raise AnalysisError(f't-SNE needs at least 4 points, got {n}')
    kwargs = dict(
        n_components=2,
        perplexity=float(min(perplexity, max(1.0, (n - 1) / 3.0))),
        init='pca',
        learning_rate='auto',
        # exact gradients are faster than Barnes-Hut for small sets
        method='exact' if n <= 300 else 'barnes_hut',
        random_state=seed)
    if max_iter is not None:
        kwargs['max_iter'] = max(250, int(max_iter))
    return TSNE(**kwargs).fit_transform(np.asarray(x, dtype=np.float32))


def get_pyplot():
    """``matplotlib.pyplot`` on the non-interactive Agg backend."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


def class_colours(num: int) -> np.ndarray:
    """``num`` distinct RGBA colours (tab10/tab20, HSV beyond 20)."""
    plt = get_pyplot()
    if num <= 10:
        return plt.get_cmap('tab10')(np.arange(num))
    if num <= 20:
        return plt.get_cmap('tab20')(np.arange(num))
    return plt.get_cmap('hsv')(np.linspace(0, 1, num, endpoint=False))


def save_figure(fig, path: str, dpi: int = 120) -> str:
    """Write ``fig`` as PNG and close it."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches='tight')
    get_pyplot().close(fig)
    return path


__all__ = [
    'class_colours', 'get_pyplot', 'raw_image', 'save_figure', 'to_rgb_uint8',
    'tsne_2d'
]
