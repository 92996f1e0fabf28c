"""tools/dataset_converters/widelands.py on a miniature Widelands data folder
in the package's layout (init.lua + sprite sheets + player-colour masks)."""
import io
import os
import os.path as osp
import subprocess
import sys

import numpy as np
from helpers import REPO, load_tool
from PIL import Image

from gcahng.datasets import Widelands

WORKER_LUA = """
wl.Descriptions():new_worker_type {
   name = "%(name)s",
   spritesheets = {
      idle = {
         fps = 10,
         frames = 4,
         rows = 2,
         columns = 2,
         hotspot = { 5, 21 }
      },
      walk = {
         directory = dirname,
         basename = "walk",
         fps = 10,
         frames = 6,
         rows = 2,
         columns = 3,
         directional = true,
         hotspot = { 10, 20 }
      },
      eating = {
         basename = "idle",
         frames = 4,
         rows = 2,
         columns = 2,
      },
   },
   animations = {
      menu = { directory = dirname, basename = "menu" },
   },
}
"""


def sheet(path, rows, columns, colour, cell=(10, 12), mask=True):
    """A sprite sheet: one opaque rectangle per frame (its width grows with
    the frame number), transparent elsewhere; its ``_pc`` mask marks the
    top half of each rectangle."""
    w, h = cell
    img = Image.new('RGBA', (columns * w, rows * h), (0, 0, 0, 0))
    pc = Image.new('RGBA', img.size, (0, 0, 0, 0))
    for f in range(rows * columns):
        x, y = (f % columns) * w, (f // columns) * h
        img.paste(colour + (255, ), (x, y, x + 2 + f % (w - 2), y + h))
        pc.paste((255, 255, 255, 255), (x, y, x + 2 + f % (w - 2), y + h // 2))
    os.makedirs(osp.dirname(path), exist_ok=True)
    img.save(path)
    if mask:
        pc.save(path[:-len('.png')] + '_pc.png')


def make_tree(root, workers=8):
    """``workers`` workers of two tribes, a critter and a ship; each
    worker's sheets at scales 1 and 2."""
    for k in range(workers):
        tribe = ('alpha', 'beta')[k % 2]
        folder = osp.join(root, 'tribes', 'workers', tribe, f'worker{k}')
        os.makedirs(folder)
        with open(osp.join(folder, 'init.lua'), 'w') as f:
            f.write(WORKER_LUA % dict(name=f'{tribe}_worker{k}'))
        colour = (20 * k, 100, 200 - 20 * k)
        for scale in ('1', '2'):
            sheet(osp.join(folder, f'idle_{scale}.png'), 2, 2, colour)
            for d in ('e', 'ne', 'nw', 'w', 'sw', 'se'):
                sheet(osp.join(folder, f'walk_{d}_{scale}.png'), 2, 3, colour)
    folder = osp.join(root, 'world', 'critters', 'deer')
    os.makedirs(folder)
    with open(osp.join(folder, 'init.lua'), 'w') as f:
        f.write('spritesheets = { walk = { frames = 6, rows = 3, '
                'columns = 2, directional = true } }')
    for d in ('e', 'ne', 'nw', 'w', 'sw', 'se'):
        sheet(
            osp.join(folder, f'walk_{d}_1.png'),
            3,
            2, (90, 60, 30),
            mask=False)
    folder = osp.join(root, 'tribes', 'ships', 'alpha')
    os.makedirs(folder)
    with open(osp.join(folder, 'init.lua'), 'w') as f:
        f.write('spritesheets = { idle = { frames = 8, rows = 2, '
                'columns = 4 } }')
    sheet(osp.join(folder, 'idle_1.png'), 2, 4, (10, 10, 10), cell=(100, 60))


def test_objects_cycles_and_frames_are_read_from_init_lua(tmp_path):
    conv = load_tool('dataset_converters/widelands.py')
    root = str(tmp_path)
    make_tree(root, workers=2)
    objects = conv.find_objects(root)
    assert sorted(objects) == [
        'alpha/worker0', 'beta/worker1', 'critters/deer', 'ships/alpha'
    ]
    cycles = objects['alpha/worker0']
    # idle once (eating only renames it), walk in six directions; the
    # game's default scale (1) is preferred to scale 2
    assert len(cycles) == 7
    assert all(c.sheet.endswith('_1.png') for c in cycles)
    assert [c.frames for c in cycles] == [4] + [6] * 6
    assert cycles[1].mask.endswith('walk_e_1_pc.png')
    assert objects['critters/deer'][0].mask is None
    # frames spread over the cycles and far apart inside each
    picks = conv.pick_frames(cycles, 14)
    assert len(picks) == 14 and len(set(picks)) == 14
    assert {c for c, _ in picks} == set(range(7))
    assert [f for c, f in picks if c == 1] == [0, 3]
    assert len(conv.pick_frames(cycles, 100)) == 4 + 36  # all of them


def test_frames_are_drawn_at_game_scale_with_a_player_colour(tmp_path):
    conv = load_tool('dataset_converters/widelands.py')
    root = str(tmp_path)
    make_tree(root, workers=2)
    objects = conv.find_objects(root)
    walk = objects['alpha/worker0'][1]  # cells of 10 x 12 pixels
    png = conv.render_frame(walk, 4, 48, (255, 0, 0))
    img = np.asarray(Image.open(io.BytesIO(png)))
    assert img.shape == (48, 48, 3)
    # the 10 x 12 cell sits in the centre at its own size, on white
    drawn = np.argwhere((img != 255).any(-1))
    assert (drawn.min(0) >= [18, 19]).all() and (drawn.max(0) <= [29, 28
                                                                  ]).all()
    # the masked top half is tinted red (luminance x colour), the rest not
    top, bottom = img[19, drawn[:, 1].min()], img[28, drawn[:, 1].min()]
    assert top[1] == top[2] == 0 and top[0] > 0
    assert bottom[1] > 0
    # a frame larger than the image (the ship) is scaled down to fit
    ship = objects['ships/alpha'][0]
    img = np.asarray(
        Image.open(io.BytesIO(conv.render_frame(ship, 0, 48, (0, 0, 255)))))
    assert img.shape == (48, 48, 3)
    # the 100 x 60 cell becomes 48 x 29: the rectangle spans 29 rows
    assert (img != 255).any(-1).any(1).sum() in (28, 29, 30)


def test_converter_writes_the_benchmark_dev_and_pretrain_splits(tmp_path):
    root = str(tmp_path / 'data')
    make_tree(root, workers=8)
    out = tmp_path / 'wl'
    cmd = [
        sys.executable, 'tools/dataset_converters/widelands.py', '--data-root',
        root, '--out',
        str(out), '--dev',
        str(tmp_path / 'wl_dev'), '--pretrain',
        str(tmp_path / 'wl_pre'), '--num-classes', '6', '--per-class', '12',
        '--min-samples', '8', '--size', '24', '--workers', '1'
    ]
    env = dict(os.environ, PYTHONPATH=REPO)
    proc = subprocess.run(
        cmd, cwd=REPO, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    train, test = Widelands(str(out)), Widelands(str(out), split='test')
    assert len(train.metainfo['classes']) == 3
    assert len(test.metainfo['classes']) == 3
    assert not set(train.metainfo['classes']) & set(test.metainfo['classes'])
    # a 4-cycle ship gives only 8 frames: 12 per class for the others
    assert len(train) + len(test) in (6 * 12, 5 * 12 + 8)
    dev_train = Widelands(str(tmp_path / 'wl_dev'))
    dev_val = Widelands(str(tmp_path / 'wl_dev'), split='test')
    assert len(dev_train.metainfo['classes']) == 1
    assert len(dev_val.metainfo['classes']) == 2
    names = {
        c.split('.', 1)[1]
        for c in dev_train.metainfo['classes'] + dev_val.metainfo['classes']
    }
    assert names == {c.split('.', 1)[1] for c in train.metainfo['classes']}
    pre = Widelands(str(tmp_path / 'wl_pre'))
    pre_val = Widelands(str(tmp_path / 'wl_pre'), split='test')
    pre_names = {c.split('.', 1)[1] for c in pre.metainfo['classes']}
    pre_names |= {c.split('.', 1)[1] for c in pre_val.metainfo['classes']}
    main_names = {
        c.split('.', 1)[1]
        for c in train.metainfo['classes'] + test.metainfo['classes']
    }
    assert len(pre_names) == 4 and not pre_names & main_names
    assert Image.open(train.get_data_info(0)['img_path']).size == (24, 24)


def test_converter_without_the_package_is_one_message(tmp_path):
    cmd = [
        sys.executable, 'tools/dataset_converters/widelands.py', '--data-root',
        str(tmp_path / 'nothing'), '--out',
        str(tmp_path / 'wl')
    ]
    env = dict(os.environ, PYTHONPATH=REPO)
    proc = subprocess.run(
        cmd, cwd=REPO, env=env, capture_output=True, text=True)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('widelands.py: error: ')
    assert '--download' in lines[0]
