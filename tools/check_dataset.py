"""Check a config's datasets before training:
``python tools/check_dataset.py CONFIG``.

Builds the train, validation and test datasets of the config with
``check_images='decode'``: every image of every split is decoded (in
parallel, with a progress bar) the way the pipeline will decode it, and
every file that does not decode is listed at once, so that a corrupt test
image is found now rather than at the first validation, epochs into a run.
Exits 1 with the datasets' messages when something is wrong.
"""
import argparse

from mmengine.config import DictAction

import gcahng  # noqa: F401  (registries)
from gcahng.apis.builders import load_config
from gcahng.datasets.layout_errors import DatasetLayoutError
from gcahng.registry import DATASETS
from gcahng.utils import run_tool


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config')
    p.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, xxx=yyy format')
    return p.parse_args()


def main() -> int:
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options)
    seen, problems = set(), []
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(key)
        if not loader:
            continue
        ds_cfg = loader.dataset.copy()
        ident = repr(sorted(ds_cfg.items()))
        if ident in seen:  # test set = validation set
            continue
        seen.add(ident)
        if 'check_images' in DATASETS.get(ds_cfg.type).__init__.__code__.\
                co_varnames:
            ds_cfg.check_images = 'decode'
        try:
            ds = DATASETS.build(ds_cfg)
        except DatasetLayoutError as err:
            problems.append(f'{key}: {err}')
            continue
        print(f'{key}: {len(ds)} images of '
              f'{len(ds.metainfo.get("classes", ()))} classes, all decode')
    if problems:  # every split's problems at once
        raise DatasetLayoutError('\n'.join(problems))
    return 0


if __name__ == '__main__':
    run_tool(main)
