"""The Widelands sprite benchmark: real images built offline."""
from gcahng.registry import DATASETS
from .cub import CUB


@DATASETS.register_module()
class Widelands(CUB):
    """Real-image retrieval benchmark built from the sprites of the game
    Widelands by ``tools/dataset_converters/widelands.py``.

    A class is one game object (a worker of a tribe, an animal, a ship), a
    sample one frame of one of its animations, in a player colour, 48 px
    on white (docs/datasets.md). The converter writes the CUB-200-2011
    layout, so this is :class:`CUB` with its own name, source and no
    full-size counts: classes 1-65 train, 101-165 test. The same reader
    reads the converter's development split (``data/widelands_dev``) and
    pretraining objects (``data/widelands_pretrain``).
    """

    DATASET_NAME = 'Widelands sprites'
    SOURCE = ('python tools/dataset_converters/widelands.py --download '
              '(the Debian package widelands-data)')
    LAYOUT = CUB.LAYOUT.replace('CUB_200_2011/', 'widelands/').replace(
        '001.Black_footed_Albatross/', '001.<tribe>-<worker>/').replace(
            'Black_Footed_Albatross_0001_796111.jpg', '<sheet>_f<frame>.png')
    FULL_SIZE_EXPECTATIONS = {}
    FOLDER_NAME = 'widelands'
