"""The paper's published numbers (IJCV 2024, Tables 1-2; SPEC §10) as data.

``paper_result(config_name)`` maps a config of a paper setting,
``configs/{gcahng,baselines}/{googlenet,r50,dino-s16}_{np,npplus,pa}_
{cub,cars196,sop,inshop}.py``, to the numbers the paper reports for it, so
that ``tools/analysis_tools/collect_results.py`` can print them next to a
run's results.
"""
import os.path as osp
import re
from typing import Dict, Optional, Tuple

#: Config name prefix -> the paper's architecture name.
ARCHS: Dict[str, str] = {
    'googlenet': 'G512',
    'r50': 'R512',
    'dino-s16': 'DN384'
}
#: Config name loss part -> the paper's loss name.
LOSSES: Dict[str, str] = {'np': 'NP', 'npplus': 'NP+', 'pa': 'PA'}
#: Config name dataset part (the order of the paper's columns).
DATASETS: Tuple[str, ...] = ('cub', 'cars196', 'sop', 'inshop')
#: Methods: GCA-HNG (``configs/gcahng``) and the baseline without hard
#: negative generation (``configs/baselines``).
METHODS: Tuple[str, ...] = ('gcahng', 'baseline')
#: Where the numbers come from.
SOURCE = 'GCA-HNG, IJCV 2024, Tables 1-2 (SPEC §10)'

# (arch, loss) -> dataset -> (R@1, RP, M@R), percent.
GCAHNG_RESULTS: Dict[Tuple[str, str],
                     Dict[str, Tuple[float, float, float]]] = {
                         ('G512', 'NP'): {
                             'cub': (63.6, 34.7, 23.6),
                             'cars196': (83.5, 37.5, 27.1),
                             'sop': (75.8, 50.8, 47.4),
                             'inshop': (88.6, 66.6, 63.5),
                         },
                         ('G512', 'NP+'): {
                             'cub': (63.9, 34.9, 23.8),
                             'cars196': (84.1, 37.9, 27.5),
                             'sop': (75.8, 50.8, 47.4),
                             'inshop': (88.6, 66.6, 63.5),
                         },
                         ('R512', 'NP+'): {
                             'cub': (70.3, 39.4, 28.4),
                             'cars196': (88.2, 42.3, 32.5),
                             'sop': (80.5, 56.8, 53.9),
                             'inshop': (91.7, 71.2, 68.5),
                         },
                         ('DN384', 'NP+'): {
                             'cub': (78.5, 44.4, 33.9),
                             'cars196': (90.0, 43.6, 34.1),
                             'sop': (85.5, 65.2, 62.6),
                             'inshop': (92.9, 72.6, 70.1),
                         },
                         ('G512', 'PA'): {
                             'cub': (65.7, 35.8, 24.8),
                             'cars196': (86.7, 38.2, 28.5),
                             'sop': (78.8, 54.5, 51.4),
                             'inshop': (91.1, 68.0, 65.3),
                         },
                         ('R512', 'PA'): {
                             'cub': (72.3, 40.7, 30.1),
                             'cars196': (91.1, 44.1, 35.4),
                             'sop': (81.8, 58.5, 55.7),
                             'inshop': (93.6, 71.9, 69.5),
                         },
                         ('DN384', 'PA'): {
                             'cub': (80.4, 47.2, 37.6),
                             'cars196': (93.1, 44.8, 36.5),
                             'sop': (85.9, 65.6, 63.1),
                             'inshop': (93.3, 70.8, 68.3),
                         },
                     }

# (arch, loss) -> dataset -> R@1 of the baseline without HNG, percent.
BASELINE_R1: Dict[Tuple[str, str], Dict[str, float]] = {
    ('R512', 'PA'): {
        'cub': 68.5,
        'cars196': 88.4,
        'sop': 80.6,
        'inshop': 92.2
    },
    ('R512', 'NP+'): {
        'cub': 66.5,
        'cars196': 84.8,
        'sop': 78.1,
        'inshop': 89.6
    },
}

_NAME = re.compile(r'^(?P<arch>googlenet|r50|dino-s16)_(?P<loss>npplus|np|pa)_'
                   r'(?P<dataset>cub|cars196|sop|inshop)$')


def parse_config_name(
        config_name: str) -> Optional[Tuple[Optional[str], str, str, str]]:
    """Split a paper-setting config name.

    Args:
        config_name (str): A path (``configs/gcahng/r50_pa_cub.py``), a
            relative name (``baselines/r50_pa_cub``) or a leaf name
            (``r50_pa_cub``).

    Returns:
        tuple | None: ``(method, arch, loss, dataset)`` in the paper's
        terms (``method`` is ``'gcahng'`` / ``'baseline'`` when the path
        names the ``gcahng`` / ``baselines`` folder, else None), or None
        when the name is not a paper setting.
    """
    path = str(config_name).replace('\\', '/')
    stem = osp.splitext(osp.basename(path))[0]
    match = _NAME.match(stem)
    if match is None:
        return None
    folders = path.split('/')[:-1]
    method = None
    if folders:
        if folders[-1] == 'baselines':
            method = 'baseline'
        elif folders[-1] == 'gcahng':
            method = 'gcahng'
    return (method, ARCHS[match['arch']], LOSSES[match['loss']],
            match['dataset'])


def paper_result(config_name: str,
                 method: Optional[str] = None) -> Optional[dict]:
    """The paper's numbers for a config, or None if it reports none.

    Args:
        config_name (str): See :func:`parse_config_name`.
        method (str, optional): ``'gcahng'`` or ``'baseline'``; overrides
            the method implied by the config's folder. Leaf names without a
            folder default to ``'gcahng'`` (a run's work dir only keeps the
            leaf name; tell a baseline run by its model type).

    Returns:
        dict | None: ``method``, ``setting`` (e.g. ``'R512 PA'``), ``arch``,
        ``loss``, ``dataset``, ``source`` and the metrics in percent:
        ``R@1``, ``RP`` and ``M@R`` for GCA-HNG, ``R@1`` only for the
        baselines (the paper gives no more). None for settings the paper
        does not report (e.g. G512 baselines, R512 NP).
    """
    if method is not None and method not in METHODS:
        raise ValueError(f'method must be one of {METHODS}, got {method!r}')
    parsed = parse_config_name(config_name)
    if parsed is None:
        return None
    folder_method, arch, loss, dataset = parsed
    method = method or folder_method or 'gcahng'
    out = dict(
        method=method,
        setting=f'{arch} {loss}',
        arch=arch,
        loss=loss,
        dataset=dataset,
        source=SOURCE)
    if method == 'gcahng':
        row = GCAHNG_RESULTS.get((arch, loss))
        if row is None:
            return None
        out.update(zip(('R@1', 'RP', 'M@R'), row[dataset]))
    else:
        row = BASELINE_R1.get((arch, loss))
        if row is None:
            return None
        out['R@1'] = row[dataset]
    return out


__all__ = [
    'ARCHS', 'LOSSES', 'DATASETS', 'METHODS', 'GCAHNG_RESULTS', 'BASELINE_R1',
    'parse_config_name', 'paper_result'
]
