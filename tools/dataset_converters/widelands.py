"""Build a real-image retrieval benchmark from the sprites of the game
Widelands (Debian package ``widelands-data``):
``python tools/dataset_converters/widelands.py --download``.

A class is one game object: a worker of one of the five tribes
(``barbarians/lumberjack``, ``empire/fisher``, ...), an animal
(``critters/deer``) or a ship. A sample is one frame of one of its
animations (walking in one of six directions, carrying, working, idling,
sailing), as the game draws it: the object's sprite sheets hold frames
rendered from its 3D model, and its ``init.lua`` declares every sheet's
``frames``, ``rows``, ``columns`` and whether it is ``directional``.
Workers of one tribe share a body and differ in clothes and tools: a
fine-grained problem with a strong baseline (many views per class).

Consecutive frames of a cycle are near-duplicates, which would make R@1
trivial, so at most ``--per-class`` frames are taken per object, spread
evenly over its cycles (each animation × direction) and evenly inside each
cycle: a query's nearest neighbour is not simply its own next frame. Each
frame is drawn as the game draws it at its default zoom: the frame's cell of
the scale-1 sheet (a worker is about 18 x 23 pixels), its player-colour
pixels (the ``*_pc.png`` mask) tinted with one of the game's first eight
player colours (one per sample, seeded), centred on a white ``--size`` x
``--size`` image; only a frame larger than that (ships) is scaled down.
Small figures in a plain image, told apart by a few pixels of clothes and
tools: an embedding from scratch starts with all images alike.

Output: the CUB-200-2011 layout (``images/``, ``images.txt``,
``image_class_labels.txt``, ``classes.txt``), read by the ``Widelands``
reader. The objects with at least ``--min-samples`` frames are shuffled
(``--seed``); the first ``--num-classes`` form the benchmark, half train
(ids 1..) and half test (ids 101..), class-disjoint. ``--dev`` writes the
training classes once more, re-split 60/40 (for choosing settings without
the test classes); ``--pretrain`` writes the remaining objects (disjoint
from both, 80% train / 20% validation): the source of a backbone pretrained
on other classes. The statistics are printed and written to ``stats.json``.

Where the sprites come from (``--data-root``, default the installed
package's ``/usr/share/games/widelands/data``): ``--download`` fetches the
package with ``apt-get download`` and unpacks it with ``dpkg -x`` into
``--cache`` (no root needed); ``--install`` runs ``apt-get install``.
"""
import argparse
import glob
import json
import os
import os.path as osp
import random
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, List, NamedTuple, Optional, Tuple

from gcahng.datasets.cub import write_benchmark_splits
from gcahng.utils.cli import UserError, run_tool

PACKAGE = 'widelands-data'
INSTALLED_ROOT = '/usr/share/games/widelands/data'
#: Where the objects live inside the data folder (class name = the path
#: below the pattern's fixed part).
OBJECT_GLOBS = ('tribes/workers/*/*/init.lua', 'world/critters/*/init.lua',
                'tribes/ships/*/init.lua')
DIRECTIONS = ('e', 'ne', 'nw', 'w', 'sw', 'se')
#: The scales the package draws sheets at, in order of preference: the
#: game's default zoom first.
SCALES = ('1', '2', '4', '0.5')
#: The first eight player colours of the game (RGB).
PLAYER_COLOURS = ((2, 2, 198), (255, 41, 0), (255, 232, 0), (59, 223, 3),
                  (57, 57, 57), (255, 172, 0), (215, 0, 218), (255, 255, 255))


class Cycle(NamedTuple):
    """One animation cycle of an object: a sprite sheet file."""
    sheet: str
    mask: Optional[str]
    frames: int
    rows: int
    columns: int


def lua_block(text: str, key: str) -> Optional[str]:
    """The body of the first ``key = { ... }`` table in ``text``."""
    m = re.search(r'\b' + key + r'\s*=\s*\{', text)
    if m is None:
        return None
    depth, i = 1, m.end()
    while depth and i < len(text):
        depth += {'{': 1, '}': -1}.get(text[i], 0)
        i += 1
    return text[m.end():i - 1]


def lua_tables(body: str) -> Dict[str, str]:
    """The ``name = { ... }`` entries directly inside a table body."""
    out: Dict[str, str] = {}
    pos = 0
    for m in re.finditer(r'(\w+)\s*=\s*\{', body):
        if m.start() < pos:
            continue
        depth, i = 1, m.end()
        while depth and i < len(body):
            depth += {'{': 1, '}': -1}.get(body[i], 0)
            i += 1
        out[m.group(1)] = body[m.end():i - 1]
        pos = i
    return out


def lua_int(body: str, key: str, default: int = 0) -> int:
    m = re.search(r'\b' + key + r'\s*=\s*(\d+)', body)
    return int(m.group(1)) if m else default


def sheet_file(folder: str, base: str) -> Optional[str]:
    """The sheet ``<base>_<scale>.png`` at the first of :data:`SCALES`
    present."""
    for scale in SCALES:
        path = osp.join(folder, f'{base}_{scale}.png')
        if osp.isfile(path):
            return path
    return None


def object_cycles(init_lua: str) -> List[Cycle]:
    """Every animation cycle that an object's ``init.lua`` declares as a
    sprite sheet (a directional animation is six cycles; an animation that
    only renames another one's sheet, ``basename``, is counted once)."""
    folder = osp.dirname(init_lua)
    sheets = lua_block(open(init_lua, encoding='utf-8').read(), 'spritesheets')
    cycles: List[Cycle] = []
    seen = set()
    for name, body in lua_tables(sheets or '').items():
        m = re.search(r'basename\s*=\s*"(\w+)"', body)
        base = m.group(1) if m else name
        frames = lua_int(body, 'frames')
        if base in seen or frames < 1:
            continue
        seen.add(base)
        directional = re.search(r'directional\s*=\s*true', body)
        stems = [f'{base}_{d}' for d in DIRECTIONS] if directional else [base]
        for stem in stems:
            sheet = sheet_file(folder, stem)
            if sheet is None:
                continue
            mask = sheet[:-len('.png')] + '_pc.png'
            cycles.append(
                Cycle(sheet, mask if osp.isfile(mask) else None, frames,
                      lua_int(body, 'rows', 1), lua_int(body, 'columns', 1)))
    return cycles


def find_objects(data_root: str) -> Dict[str, List[Cycle]]:
    """Class name (``barbarians/lumberjack``, ``critters/deer``,
    ``ships/barbarians``) -> its animation cycles."""
    objects = {}
    for pattern in OBJECT_GLOBS:
        fixed = pattern.split('*')[0]
        for init in sorted(glob.glob(osp.join(data_root, pattern))):
            rel = osp.relpath(osp.dirname(init), osp.join(data_root, fixed))
            kind = fixed.rstrip('/').split('/')[-1]
            name = rel if kind == 'workers' else f'{kind}/{rel}'
            cycles = object_cycles(init)
            if cycles:
                objects[name] = cycles
    return objects


def pick_frames(cycles: List[Cycle], count: int) -> List[Tuple[int, int]]:
    """``count`` (cycle, frame) pairs spread evenly over the cycles and,
    inside each, evenly over its frames (far apart: no near-duplicates)."""
    per_cycle = -(-count // len(cycles))
    pairs = []
    for c, cyc in enumerate(cycles):
        k = min(per_cycle, cyc.frames)
        pairs += [(c, (i * cyc.frames) // k) for i in range(k)]
    if len(pairs) > count:  # evenly thinned to exactly ``count``
        pairs = [pairs[(i * len(pairs)) // count] for i in range(count)]
    return pairs


def render_frame(cycle: Cycle, frame: int, size: int,
                 colour: Tuple[int, int, int]) -> bytes:
    """Frame ``frame`` of a sheet, at its own scale, centred on a white
    ``size`` x ``size`` RGB PNG (scaled down only if larger), its masked
    pixels tinted with the player ``colour`` (luminance x colour, as the
    game does)."""
    import io

    import numpy as np
    from PIL import Image

    sheet = Image.open(cycle.sheet).convert('RGBA')
    w, h = sheet.width // cycle.columns, sheet.height // cycle.rows
    box = ((frame % cycle.columns) * w, (frame // cycle.columns) * h)
    box = box + (box[0] + w, box[1] + h)
    rgba = np.asarray(sheet.crop(box), dtype=np.float32) / 255
    if cycle.mask is not None:
        mask = Image.open(cycle.mask).convert('RGBA').crop(box)
        m = np.asarray(mask, dtype=np.float32) / 255
        amount = m[..., :3].mean(-1, keepdims=True) * m[..., 3:]
        lum = rgba[..., :3] @ np.array([0.299, 0.587, 0.114], np.float32)
        tint = lum[..., None] * np.array(colour, np.float32) / 255
        rgba[..., :3] = rgba[..., :3] * (1 - amount) + tint * amount
    img = Image.fromarray((rgba * 255).round().astype(np.uint8), 'RGBA')
    if max(img.size) > size:
        scale = size / max(img.size)
        img = img.resize((max(1, round(
            img.width * scale)), max(1, round(img.height * scale))),
                         Image.LANCZOS)
    canvas = Image.new('RGBA', (size, size), (255, 255, 255, 255))
    canvas.alpha_composite(img,
                           ((size - img.width) // 2, (size - img.height) // 2))
    out = io.BytesIO()
    canvas.convert('RGB').save(out, format='PNG')
    return out.getvalue()


def render_object(name: str, cycles: List[Cycle], count: int, size: int,
                  seed: int) -> Dict[str, bytes]:
    """Sample name (``<sheet>_f<frame>``) -> PNG of the frames
    :func:`pick_frames` takes."""
    rng = random.Random(f'{seed}/{name}')
    out = {}
    for c, frame in pick_frames(cycles, count):
        cycle = cycles[c]
        stem = osp.splitext(osp.basename(cycle.sheet))[0]
        colour = rng.choice(PLAYER_COLOURS)
        out[f'{stem}_f{frame:02d}'] = render_frame(cycle, frame, size, colour)
    return out


def fetch_package(cache: str) -> str:
    """``apt-get download`` the package into ``cache``, unpack it with
    ``dpkg -x``; returns its data folder."""
    root = osp.join(cache, 'root')
    data = osp.join(root, INSTALLED_ROOT.lstrip('/'))
    if osp.isdir(data):
        return data
    os.makedirs(cache, exist_ok=True)
    subprocess.run(['apt-get', 'download', PACKAGE], cwd=cache, check=True)
    debs = sorted(glob.glob(osp.join(cache, f'{PACKAGE}_*.deb')))
    if not debs:
        raise UserError(f'apt-get download left no {PACKAGE} '
                        f'package in {cache}')
    subprocess.run(['dpkg', '-x', debs[-1], root], check=True)
    return data


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--out', default='data/widelands')
    p.add_argument(
        '--dev',
        default='data/widelands_dev',
        help='folder for the development split: the training classes '
        're-split 60/40 for model selection ("" for none)')
    p.add_argument(
        '--pretrain',
        default='data/widelands_pretrain',
        help='folder for the objects left over, to pretrain a backbone on '
        'other classes ("" for none)')
    p.add_argument(
        '--data-root',
        help='the unpacked package\'s data folder (default: the installed '
        f'package, {INSTALLED_ROOT})')
    p.add_argument(
        '--download',
        action='store_true',
        help=f'apt-get download {PACKAGE} and unpack it into --cache')
    p.add_argument('--cache', default='data/.widelands_package')
    p.add_argument(
        '--install', action='store_true', help=f'apt-get install {PACKAGE}')
    p.add_argument('--size', type=int, default=48)
    p.add_argument('--num-classes', type=int, default=130)
    p.add_argument('--per-class', type=int, default=40)
    p.add_argument('--min-samples', type=int, default=30)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--workers', type=int, default=os.cpu_count() or 2)
    return p.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    if args.install:
        subprocess.run(['apt-get', 'install', '-y', '-q', PACKAGE],
                       check=True,
                       env=dict(os.environ, DEBIAN_FRONTEND='noninteractive'))
    data_root = args.data_root or (fetch_package(args.cache)
                                   if args.download else INSTALLED_ROOT)
    if not osp.isdir(osp.join(data_root, 'tribes')):
        raise UserError(
            f'no Widelands data folder at {data_root} (it holds '
            'tribes/ and world/); pass --download (apt-get download + dpkg '
            '-x, no root), --install, or --data-root DIR')
    objects = find_objects(data_root)
    counts = {
        name: len(pick_frames(cycles, args.per_class))
        for name, cycles in objects.items()
    }
    names = sorted(n for n, c in counts.items() if c >= args.min_samples)
    if len(names) < args.num_classes:
        raise UserError(f'only {len(names)} objects under {data_root} have '
                        f'{args.min_samples} frames; lower --num-classes')
    random.Random(args.seed).shuffle(names)
    from mmengine.utils import ProgressBar
    print(f'rendering {len(names)} objects from {data_root}')
    bar = ProgressBar(len(names))
    images: Dict[str, Dict[str, bytes]] = {}

    def render(name: str) -> Dict[str, bytes]:
        return render_object(name, objects[name], args.per_class, args.size,
                             args.seed)

    with ThreadPoolExecutor(args.workers) as pool:
        for name, imgs in zip(names, pool.map(render, names)):
            images[name] = imgs
            bar.update()
    print()
    # folder names: 'barbarians/lumberjack' -> 'barbarians-lumberjack'
    flat = {n.replace('/', '-'): images[n] for n in names}
    order = [n.replace('/', '-') for n in names]
    stats = dict(source=data_root, size=args.size, seed=args.seed)
    # 80 % of the other objects train the pretrained backbone
    num_pretrain = max(1, (len(order) - args.num_classes) * 4 // 5)
    stats.update(
        write_benchmark_splits(order, flat, args.num_classes, args.out,
                               args.dev, args.pretrain, num_pretrain))
    main_names = order[:args.num_classes]
    with open(osp.join(args.out, 'stats.json'), 'w') as f:
        json.dump(dict(stats, classes=main_names), f, indent=2)
    print(json.dumps(stats, indent=2))


if __name__ == '__main__':
    run_tool(main)
