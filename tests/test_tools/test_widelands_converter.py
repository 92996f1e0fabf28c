"""tools/dataset_converters/widelands.py on a miniature Widelands data folder
in the package's layout (``fixtures.widelands_tree``); the converter as a
process is tested in ``test_tool_processes.py``."""
import io

import numpy as np
from fixtures.widelands_tree import make_tree
from helpers import load_tool
from PIL import Image


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
