"""tools/dataset_converters/icon_themes.py on a miniature icon tree."""
import io
import os
import os.path as osp

from helpers import load_tool
from PIL import Image

from gcahng.datasets import IconThemes
from gcahng.datasets.cub import write_benchmark_splits, write_cub_layout


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


def test_benchmark_splits_of_any_size(tmp_path):
    """Both converters write their three folders with one function: the
    benchmark split half/half by class whatever the number of classes (the
    icon converter once put the first 100 into training, so a smaller
    --num-classes had no test classes), the development split 60/40 inside
    the training half, the pretraining classes after the benchmark's."""
    png = io.BytesIO()
    Image.new('RGB', (8, 8)).save(png, format='PNG')
    names = [f'name-{c}' for c in range(13)]
    images = {
        n: {
            f's{i}': png.getvalue()
            for i in range(2 + c % 2)
        }
        for c, n in enumerate(names)
    }
    roots = {k: str(tmp_path / k) for k in ('bench', 'dev', 'pre')}
    stats = write_benchmark_splits(
        names,
        images,
        10,
        roots['bench'],
        dev=roots['dev'],
        pretrain=roots['pre'],
        pretrain_train_classes=2)
    train, test = IconThemes(roots['bench']), IconThemes(
        roots['bench'], split='test')
    assert [c.split('.', 1)[1] for c in train.metainfo['classes']] == names[:5]
    assert [c.split('.', 1)[1]
            for c in test.metainfo['classes']] == names[5:10]
    assert stats['benchmark'] == dict(
        root=roots['bench'],
        classes=10,
        images=25,
        train_classes=5,
        train_images=12,
        test_classes=5,
        test_images=13,
        per_class_min=2,
        per_class_mean=2.5,
        per_class_max=3)
    dev_train, dev_val = IconThemes(roots['dev']), IconThemes(
        roots['dev'], split='test')
    assert len(dev_train.metainfo['classes']) == 3
    assert len(dev_val.metainfo['classes']) == 2
    assert stats['dev'] == dict(
        root=roots['dev'], train_classes=3, val_classes=2, images=12)
    assert stats['pretrain'] == dict(
        root=roots['pre'], train_classes=2, val_classes=1, images=7)
    assert [
        c.split('.', 1)[1]
        for c in IconThemes(roots['pre']).metainfo['classes']
    ] == names[10:12]
    # no pretraining classes left: no pretraining folder
    assert 'pretrain' not in write_benchmark_splits(
        names[:10], images, 10, roots['bench'], pretrain=roots['pre'])
