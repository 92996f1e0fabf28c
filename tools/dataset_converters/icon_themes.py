"""Build a real-image retrieval benchmark from the freedesktop icon themes
that Debian packages: ``python tools/dataset_converters/icon_themes.py``.

A class is a standard icon name (``edit-copy``, ``folder-music``,
``battery-low``, ...); a sample is that icon as drawn by one icon-theme
family (Adwaita, Breeze, Papirus, Oxygen, Tango, elementary, Numix, MATE,
...), rendered to ``--size`` pixels on white (SVGs with ``rsvg-convert``,
PNGs resized with Pillow). The images are made by people, in different
styles, and neighbouring classes differ in details (``battery-low`` /
``battery-caution``, ``go-up`` / ``go-top``): a fine-grained problem.

Colour and light/dark variants of one theme (``Obsidian-*``, ``Papirus-Dark``,
``breeze-dark``, ...) are not separate samples: one directory per family is
read, files that are symbolic links into another theme are skipped, and
a rendering is used once in the whole dataset: byte-identical copies within
a class, and icon names that are aliases of a name already taken (they share
drawings: ``gtk-go-up`` and ``go-up``), lose those images, so no image is in
two classes or two splits.

Output: the CUB-200-2011 layout (``images/``, ``images.txt``,
``image_class_labels.txt``, ``classes.txt``), read by the ``CUB`` reader:
the 200 icon names drawn by the most families, in a seeded random order,
classes 1-100 train and 101-200 test (class-disjoint). With ``--pretrain``
a second folder of the same layout holds the next icon names (disjoint
from both, ids 1-100 train and the rest validation): the source for a
backbone pretrained on other classes. ``--dev`` writes the 100 training
classes once more, re-split 60 (ids 1-60) / 40 (ids 101-140), so that
settings are chosen without looking at the test classes.

``--install`` first installs the Debian packages it reads (needs root and
the Debian mirrors). The statistics are printed and written to
``stats.json``.
"""
import argparse
import hashlib
import io
import json
import os
import os.path as osp
import random
import re
import shutil
import subprocess
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, List, Optional, Tuple

from gcahng.datasets.cub import write_benchmark_splits
from gcahng.utils.cli import UserError, run_tool

#: Debian packages holding the themes below, and the SVG renderer.
PACKAGES = (
    'librsvg2-bin adwaita-icon-theme breeze-icon-theme deepin-icon-theme '
    'elementary-icon-theme elementary-xfce-icon-theme faba-icon-theme '
    'faenza-icon-theme gnome-brave-icon-theme gnome-icon-theme '
    'gnome-icon-theme-gartoon gnome-icon-theme-nuovo gnome-icon-theme-suede '
    'gnome-icon-theme-yasis lxde-icon-theme mate-icon-theme moka-icon-theme '
    'numix-icon-theme numix-icon-theme-circle obsidian-icon-theme '
    'oxygen-icon-theme paper-icon-theme papirus-icon-theme sugar-icon-theme '
    'suru-icon-theme tango-icon-theme').split()

#: One entry per theme family: the family's name and its directories under
#: ``/usr/share/icons`` (variants of a family are left out).
FAMILIES = {
    'adwaita': ['Adwaita'],
    'breeze': ['breeze'],
    'bloom': ['bloom'],
    'elementary': ['elementary'],
    'elementary-xfce': ['elementary-xfce'],
    'faba': ['Faba'],
    'faenza': ['Faenza'],
    'gartoon': ['gartoon'],
    'gnome': ['gnome'],
    'gnome-colors': ['gnome-colors-common', 'gnome-brave'],
    'mate': ['mate'],
    'menta': ['menta'],
    'moka': ['Moka'],
    'numix': ['Numix'],
    'numix-circle': ['Numix-Circle'],
    'nuovo': ['Nuovo'],
    'nuovext2': ['nuoveXT2'],
    'obsidian': ['Obsidian'],
    'oxygen': ['oxygen'],
    'paper': ['Paper'],
    'papirus': ['Papirus'],
    'sea': ['Sea'],
    'suede': ['Suede'],
    'sugar': ['sugar'],
    'suru': ['suru'],
    'tango': ['Tango'],
    'vintage': ['Vintage'],
    'yasis': ['yasis'],
}

SIZE_RE = re.compile(r'^(\d+)(?:x\d+)?(?:@\d+x)?$')


def nominal_size(path: str) -> int:
    """The size a theme files an icon under (``48x48``, ``48``,
    ``scalable`` = 1024); 0 when the path names none."""
    best = 0
    for part in path.split(os.sep):
        if part == 'scalable':
            best = max(best, 1024)
        m = SIZE_RE.match(part)
        if m:
            best = max(best, int(m.group(1)))
    return best


def scan_family(root: str, dirs: List[str]) -> Dict[str, str]:
    """Icon name -> the best source file of one family: the largest
    nominal size, SVG before PNG at equal size; symbolic icons and links
    pointing outside the family are skipped."""
    tops = [osp.realpath(osp.join(root, d)) for d in dirs]
    best: Dict[str, Tuple[Tuple[int, int], str]] = {}
    for top in tops:
        for dirpath, _, files in os.walk(top):
            if 'symbolic' in dirpath:
                continue
            for f in files:
                stem, ext = osp.splitext(f)
                if ext not in ('.svg', '.png') or stem.endswith('-symbolic'):
                    continue
                path = osp.join(dirpath, f)
                real = osp.realpath(path)
                if not any(real.startswith(t + os.sep) for t in tops):
                    continue  # a link into another theme
                size = nominal_size(osp.relpath(dirpath, top))
                key = (size if size >= 32 else size - 10000,
                       int(ext == '.svg'))
                if stem not in best or key > best[stem][0]:
                    best[stem] = (key, real)
    return {name: path for name, (_, path) in best.items()}


def render(src: str, size: int) -> Optional[bytes]:
    """The icon as a ``size`` x ``size`` RGB PNG on white, or None when
    the file does not render."""
    from PIL import Image
    try:
        if src.endswith('.svg'):
            png = subprocess.run(
                ['rsvg-convert', '-w',
                 str(size), '-h',
                 str(size), '-a', src],
                capture_output=True,
                timeout=30,
                check=True).stdout
            img = Image.open(io.BytesIO(png))
        else:
            img = Image.open(src)
        img = img.convert('RGBA')
        img.thumbnail((size, size), Image.LANCZOS)
        canvas = Image.new('RGBA', (size, size), (255, 255, 255, 255))
        canvas.alpha_composite(img, ((size - img.width) // 2,
                                     (size - img.height) // 2))
        out = io.BytesIO()
        canvas.convert('RGB').save(out, format='PNG')
        return out.getvalue()
    except Exception:  # noqa: BLE001 (a broken icon file is skipped)
        return None


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--out', default='data/icon_themes')
    p.add_argument(
        '--pretrain',
        default='data/icon_themes_pretrain',
        help='folder for the disjoint pretraining classes ("" for none)')
    p.add_argument(
        '--dev',
        default='data/icon_themes_dev',
        help='folder for the development split: the training classes '
        're-split 60/40 for model selection ("" for none)')
    p.add_argument('--icons-root', default='/usr/share/icons')
    p.add_argument('--size', type=int, default=48)
    p.add_argument('--num-classes', type=int, default=200)
    p.add_argument('--pretrain-classes', type=int, default=200)
    p.add_argument(
        '--min-samples',
        type=int,
        default=10,
        help='a class needs this many distinct renderings')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--workers', type=int, default=os.cpu_count() or 2)
    p.add_argument(
        '--install',
        action='store_true',
        help='apt-get install the icon themes and rsvg-convert first')
    return p.parse_args()


def main() -> None:
    args = parse_args()
    if args.install:
        subprocess.run(['apt-get', 'update', '-q'], check=True)
        subprocess.run(
            ['apt-get', 'install', '-y', '-q', '--no-install-recommends'] +
            list(PACKAGES),
            check=True,
            env=dict(os.environ, DEBIAN_FRONTEND='noninteractive'))
    if shutil.which('rsvg-convert') is None:
        raise UserError('rsvg-convert not found; run with '
                        '--install or apt-get install librsvg2-bin')
    found = {
        fam: dirs
        for fam, dirs in FAMILIES.items() if all(
            osp.isdir(osp.join(args.icons_root, d)) for d in dirs)
    }
    missing = sorted(set(FAMILIES) - set(found))
    if len(found) < args.min_samples:
        raise UserError(
            f'only {len(found)} theme families under '
            f'{args.icons_root} (missing: {", ".join(missing)}); run with '
            '--install')
    print(f'scanning {len(found)} theme families under {args.icons_root}')
    with ThreadPoolExecutor(args.workers) as pool:
        scans = dict(
            zip(
                found,
                pool.map(lambda d: scan_family(args.icons_root, d),
                         found.values())))
    by_name: Dict[str, Dict[str, str]] = defaultdict(dict)
    for fam, icons in scans.items():
        for name, path in icons.items():
            by_name[name][fam] = path
    # the most widely drawn names first; ties by name (deterministic)
    ranked = sorted(by_name, key=lambda n: (-len(by_name[n]), n))
    want = args.num_classes + (args.pretrain_classes if args.pretrain else 0)
    candidates = [n for n in ranked if len(by_name[n]) >= args.min_samples]

    images: Dict[str, Dict[str, bytes]] = {}
    used = set()  # renderings already taken: aliases share drawings
    from mmengine.utils import ProgressBar
    print(f'rendering up to {want} classes')
    bar = ProgressBar(want)
    with ThreadPoolExecutor(args.workers) as pool:
        for name in candidates:
            if len(images) == want:
                break
            fams = sorted(by_name[name])
            pngs = pool.map(lambda f: render(by_name[name][f], args.size),
                            fams)
            kept, digests = {}, set()
            for fam, png in zip(fams, pngs):
                digest = png and hashlib.md5(png).hexdigest()
                if png is None or digest in digests or digest in used:
                    continue
                digests.add(digest)
                kept[fam] = png
            if len(kept) >= args.min_samples:
                images[name] = kept
                used.update(digests)
                bar.update()
    print()
    names = list(images)
    if len(names) < args.num_classes:
        raise UserError(
            f'only {len(names)} icon names have '
            f'{args.min_samples} distinct renderings; lower --min-samples')
    main_names = names[:args.num_classes]
    random.Random(args.seed).shuffle(main_names)  # the first half trains
    names = main_names + names[args.num_classes:]
    stats = dict(
        families=sorted(found),
        missing_families=missing,
        size=args.size,
        seed=args.seed)
    num_pretrain = min(100, len(names) - args.num_classes)  # train classes
    stats.update(
        write_benchmark_splits(names, images, args.num_classes, args.out,
                               args.dev, args.pretrain, num_pretrain))
    with open(osp.join(args.out, 'stats.json'), 'w') as f:
        json.dump(dict(stats, classes=main_names), f, indent=2)
    print(json.dumps(stats, indent=2))


if __name__ == '__main__':
    run_tool(main)
