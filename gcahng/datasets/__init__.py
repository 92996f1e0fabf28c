from .cars196 import Cars196
from .csv_dataset import CSVRetrievalDataset
from .cub import CUB
from .icon_themes import IconThemes
from .inshop import InShop
from .samplers import BalancedClassSampler, GlobalBatchSampler
from .sop import SOP
from .synthetic import SyntheticFineGrained
from .widelands import Widelands

__all__ = [
    'CUB', 'Cars196', 'SOP', 'InShop', 'IconThemes', 'SyntheticFineGrained',
    'BalancedClassSampler', 'GlobalBatchSampler', 'CSVRetrievalDataset',
    'Widelands'
]
