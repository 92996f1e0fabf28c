"""Turn a folder of class folders into the CSV of ``CSVRetrievalDataset``.

    python tools/dataset_converters/folder_to_csv.py ROOT --out ROOT/data.csv
        [--test-ratio 0.5] [--protocol leave_one_out|query_gallery]
        [--query-ratio 0.5] [--min-images 2] [--seed 0]
        [--base configs/gcahng/r50_pa_csv.py] [--config PATH]

``ROOT`` is an ``ImageFolder`` tree: one folder per class, the images in it
(sub-folders of a class folder belong to that class). The split is
class-disjoint, as in deep metric learning: a seeded shuffle of the classes
puts ``--test-ratio`` of them in ``validation``, the rest in ``train``.
With ``--protocol query_gallery`` each validation class's images are split
into queries (``--query-ratio``, at least one) and gallery images (at least
one), else every validation image queries all the others. Classes with
fewer than ``--min-images`` images are left out (a class needs two images to
be a positive pair). Paths in the CSV are relative to ``ROOT`` (the
config's ``data_root``); ``label`` is the class index in sorted folder order
and ``class_name`` the folder name.

Next to the CSV it writes a ready config, ``<csv name>_<base name>.py``
(``--config`` to choose): ``--base`` (default
``configs/gcahng/r50_pa_csv.py``, or any config on
``configs/_base_/datasets/csv.py``) pointed at the CSV, with its data root,
number of training classes and protocol. The last line printed is the
command that trains on it.
"""
import argparse
import math
import os
import os.path as osp
import random
from collections import defaultdict
from typing import Dict, List, Optional, Sequence

from mmengine.config import Config

from gcahng.datasets.csv_dataset import PROTOCOLS, find_images, folder_class
from gcahng.utils import UserError, run_tool
from gcahng.utils.result_files import write_csv

COLUMNS = ('label', 'path', 'split', 'is_query', 'is_gallery', 'category',
           'class_name')
REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
#: The config the written one inherits by default.
BASE_CONFIG = osp.join('configs', 'gcahng', 'r50_pa_csv.py')
#: The config it writes, filled in by :func:`write_config`.
CONFIG_TEMPLATE = """\
# Written by tools/dataset_converters/folder_to_csv.py: {base_name}
# on the images of {root}
# ({num_classes} training classes, protocol {protocol}). Train with
# python tools/train.py {config}
_base_ = [{base!r}]

data_root = {root!r}
ann_file = {ann_file!r}
num_train_classes = {num_classes}
protocol = {protocol!r}

train_dataloader = dict(dataset=dict(data_root=data_root, ann_file=ann_file))
val_dataloader = dict(
    dataset=dict(data_root=data_root, ann_file=ann_file, protocol=protocol))
test_dataloader = val_dataloader
val_evaluator = dict(mode=protocol)
test_evaluator = val_evaluator
"""


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog='folder_to_csv.py', description=__doc__.split('\n')[0])
    parser.add_argument('root', help='folder of class folders')
    parser.add_argument(
        '--out', required=True, help='the CSV to write (e.g. ROOT/data.csv)')
    parser.add_argument(
        '--test-ratio',
        type=float,
        default=0.5,
        help='share of the classes in the validation split (default 0.5, '
        'as CUB and Cars196)')
    parser.add_argument(
        '--protocol',
        choices=PROTOCOLS,
        default='leave_one_out',
        help='evaluation protocol of the validation rows')
    parser.add_argument(
        '--query-ratio',
        type=float,
        default=0.5,
        help='query_gallery: share of each class\'s images that are '
        'queries')
    parser.add_argument(
        '--min-images',
        type=int,
        default=2,
        help='leave out classes with fewer images')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--base',
        default=BASE_CONFIG,
        help='the config to inherit, on configs/_base_/datasets/csv.py '
        f'(default {BASE_CONFIG})')
    parser.add_argument(
        '--config',
        help='the config to write (default: next to the CSV, '
        '<csv name>_<base name>.py)')
    return parser.parse_args(argv)


def scan(root: str, min_images: int) -> Dict[str, List[str]]:
    """``class folder -> image paths (relative to root)``, small classes
    dropped."""
    by_class: Dict[str, List[str]] = defaultdict(list)
    loose = 0
    for path in find_images(root):
        name = folder_class(root, path)
        if name is None:
            loose += 1
            continue
        by_class[name].append(osp.relpath(path, root))
    if loose:
        print(f'{loose} images directly in {root} (no class folder) are '
              'left out')
    small = sorted(c for c, paths in by_class.items()
                   if len(paths) < min_images)
    if small:
        print(f'{len(small)} classes with fewer than {min_images} images are '
              f'left out: {", ".join(small[:10])}'
              f'{" ..." if len(small) > 10 else ""}')
    return {c: by_class[c] for c in sorted(by_class) if c not in small}


def split_rows(by_class: Dict[str, List[str]], test_ratio: float,
               protocol: str, query_ratio: float, seed: int) -> List[dict]:
    """The CSV rows: a class-disjoint train / validation split."""
    names = sorted(by_class)
    if len(names) < 2:
        raise UserError(f'need at least two classes (one '
                        f'train, one validation), found {len(names)}')
    num_test = min(max(1, round(test_ratio * len(names))), len(names) - 1)
    order = list(names)
    random.Random(seed).shuffle(order)
    test = set(order[:num_test])
    rng = random.Random(seed + 1)
    rows = []
    for label, name in enumerate(names):
        paths = sorted(by_class[name])
        split = 'validation' if name in test else 'train'
        queries = set()
        if split == 'validation' and protocol == 'query_gallery':
            shuffled = list(paths)
            rng.shuffle(shuffled)
            n_query = min(
                max(1, math.floor(query_ratio * len(paths))),
                len(paths) - 1)
            queries = set(shuffled[:n_query])
        for path in paths:
            row = dict(
                label=label,
                path=path.replace(os.sep, '/'),
                split=split,
                is_query='',
                is_gallery='',
                category='',
                class_name=name)
            if split == 'validation':
                q = path in queries if protocol == 'query_gallery' else True
                g = not q if protocol == 'query_gallery' else True
                row.update(is_query=int(q), is_gallery=int(g))
            rows.append(row)
    return rows


def write_config(path: str, base: str, root: str, ann_file: str,
                 num_classes: int, protocol: str) -> str:
    """Write a config that inherits ``base`` (a config on
    ``configs/_base_/datasets/csv.py``) and points it at ``ann_file``, with
    ``num_classes`` training classes and ``protocol``; returns ``path``."""
    base_cfg = Config.fromfile(base)
    dataset = base_cfg.get('train_dataloader', {}).get('dataset', {})
    if dataset.get('type') != 'CSVRetrievalDataset':
        raise UserError(f'--base {base} does not train on a CSV (its '
                        f'dataset is {dataset.get("type")!r}); pass a config '
                        'on configs/_base_/datasets/csv.py')
    text = CONFIG_TEMPLATE.format(
        base_name=osp.relpath(base, REPO),
        root=root,
        num_classes=num_classes,
        protocol=protocol,
        config=path,
        base=osp.abspath(base),
        ann_file=ann_file)
    model = base_cfg.model
    heads = [
        h for h in ('loss_metric', 'graph_head')
        if 'num_classes' in model.get(h, {})
    ]
    if heads:  # the proxies and the node classifier: one per class
        text += 'model = dict(\n' + ',\n'.join(
            f'    {h}=dict(num_classes=num_train_classes)'
            for h in heads) + ')\n'
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w') as f:
        f.write(text)
    return path


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Write the CSV; returns the counts printed."""
    args = parse_args(argv)
    root = osp.abspath(args.root)
    if not osp.isdir(root):
        raise FileNotFoundError(f'no folder at {args.root}')
    if not 0.0 < args.test_ratio < 1.0:
        raise UserError('--test-ratio must be in (0, 1)')
    if not 0.0 < args.query_ratio < 1.0:
        raise UserError('--query-ratio must be in (0, 1)')
    if args.protocol == 'query_gallery' and args.min_images < 2:
        raise UserError('query_gallery needs '
                        '--min-images >= 2 (a query and a gallery image)')
    rows = split_rows(
        scan(root, args.min_images), args.test_ratio, args.protocol,
        args.query_ratio, args.seed)
    write_csv(args.out, rows, COLUMNS)
    summary = {
        split:
        dict(
            images=sum(r['split'] == split for r in rows),
            classes=len({r['label']
                         for r in rows if r['split'] == split}))
        for split in ('train', 'validation')
    }
    for split, counts in summary.items():
        print(f'{split}: {counts["images"]} images of {counts["classes"]} '
              'classes')
    print(f'wrote {len(rows)} rows to {args.out}')
    base = args.base if osp.isfile(args.base) else osp.join(REPO, args.base)
    if not osp.isfile(base):
        raise FileNotFoundError(f'--base {args.base}: no such config')
    config = args.config or '{}_{}.py'.format(
        osp.splitext(args.out)[0],
        osp.splitext(osp.basename(base))[0])
    write_config(config, base, root, osp.abspath(args.out),
                 summary['train']['classes'], args.protocol)
    print(f'wrote {config} ({osp.relpath(base, REPO)} on this CSV); train '
          'with:')
    print(f'python tools/train.py {config}')
    summary.update(
        protocol=args.protocol, out=args.out, data_root=root, config=config)
    return summary


if __name__ == '__main__':
    run_tool(main)
