"""The icon-theme benchmark: real images built offline."""
from gcahng.registry import DATASETS
from .cub import CUB


@DATASETS.register_module()
class IconThemes(CUB):
    """Real-image retrieval benchmark built from the freedesktop icon themes
    by ``tools/dataset_converters/icon_themes.py``.

    A class is a standard icon name, a sample one theme family's drawing of
    it (48 px on white). The converter writes the CUB-200-2011 layout, so
    this is :class:`CUB` with its own name, source and no full-size counts
    (the dataset depends on the themes installed): classes 1-100 train,
    101-200 test. The same reader reads the converter's development split
    (``data/icon_themes_dev``) and pretraining classes
    (``data/icon_themes_pretrain``).
    """

    DATASET_NAME = 'Icon themes'
    SOURCE = ('python tools/dataset_converters/icon_themes.py --install '
              '(renders the Debian-packaged freedesktop icon themes)')
    LAYOUT = CUB.LAYOUT.replace('CUB_200_2011/', 'icon_themes/').replace(
        '001.Black_footed_Albatross/',
        '001.<icon-name>/').replace('Black_Footed_Albatross_0001_796111.jpg',
                                    '<theme>.png')
    FULL_SIZE_EXPECTATIONS = {}
    FOLDER_NAME = 'icon_themes'
