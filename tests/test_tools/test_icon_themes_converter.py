"""tools/dataset_converters/icon_themes.py on a miniature icon tree."""
import io
import os
import os.path as osp

from helpers import load_tool
from PIL import Image

from gcahng.datasets import IconThemes
from gcahng.datasets.cub import write_cub_layout


def icon(path, colour, size=64):
    os.makedirs(osp.dirname(path), exist_ok=True)
    Image.new('RGBA', (size, size), colour).save(path)


def test_scan_prefers_large_drawings_and_skips_links_and_symbolic(tmp_path):
    conv = load_tool('dataset_converters/icon_themes.py')
    root = str(tmp_path)
    icon(f'{root}/A/16x16/actions/go-up.png', 'red', 16)
    icon(f'{root}/A/48x48/actions/go-up.png', 'blue', 48)
    icon(f'{root}/A/48x48/actions/go-up-symbolic.png', 'blue', 48)
    icon(f'{root}/B/32/actions/go-up.png', 'green', 32)
    os.symlink(f'{root}/B/32/actions/go-up.png', f'{root}/A/go-down.png')
    assert conv.nominal_size('48x48/actions') == 48
    assert conv.nominal_size('scalable/apps') == 1024
    assert conv.nominal_size('apps/48@2x') == 48
    found = conv.scan_family(root, ['A'])
    assert found == {
        'go-up': osp.realpath(f'{root}/A/48x48/actions/go-up.png')
    }
    png = conv.render(found['go-up'], 24)
    assert png and Image.open(io.BytesIO(png)).size == (24, 24)


def test_cub_layout_is_read_by_the_icon_reader(tmp_path):
    conv = load_tool('dataset_converters/icon_themes.py')
    src = str(tmp_path / 'src')
    images = {}
    for c in range(4):
        images[f'name-{c}'] = {}
        for t in range(3):
            icon(f'{src}/{c}_{t}.png', (60 * c, 80 * t, 0, 255))
            images[f'name-{c}'][f'theme{t}'] = conv.render(
                f'{src}/{c}_{t}.png', 16)
    out = str(tmp_path / 'icon_themes')
    assert write_cub_layout(out, list(images), images, 2) == 12
    train, test = IconThemes(out), IconThemes(out, split='test')
    assert len(train) == 6 and len(test) == 6
    assert train.metainfo['classes'] == ('001.name-0', '002.name-1')
    assert test.metainfo['classes'] == ('101.name-2', '102.name-3')
