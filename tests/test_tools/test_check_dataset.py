"""tools/check_dataset.py decodes every split up front and lists bad
images."""
import sys

import pytest
from fixtures.dml_layouts import make_cub
from helpers import config_path, load_tool
from mmengine.config import Config

from gcahng.datasets.utils import DatasetLayoutError


def test_check_dataset_finds_a_truncated_test_image(tmp_path, monkeypatch,
                                                    capsys):
    root = make_cub(str(tmp_path), image_size=32)
    cfg = Config.fromfile(config_path('baselines/r18_pa_icons.py'))
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].dataset.data_root = root
    cfg_file = str(tmp_path / 'cfg.py')
    cfg.dump(cfg_file)
    tool = load_tool('check_dataset.py')
    monkeypatch.setattr(sys, 'argv', ['check_dataset.py', cfg_file])
    assert tool.main() == 0
    assert 'all decode' in capsys.readouterr().out

    import glob
    victim = sorted(glob.glob(f'{root}/images/*/*.jpg'))[-1]  # a test class
    data = open(victim, 'rb').read()
    open(victim, 'wb').write(data[:len(data) // 2])
    with pytest.raises(DatasetLayoutError) as info:
        tool.main()
    assert victim in str(info.value) and 'do not decode' in str(info.value)
    assert str(info.value).startswith('val_dataloader: ')
