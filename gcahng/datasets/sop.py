"""Stanford Online Products read from the original download
(docs/datasets.md)."""
import os.path as osp
from typing import Any, Dict, List, Tuple

from gcahng.registry import DATASETS
from .dataset_files import is_macos_junk
from .dml_base_dataset import DMLBaseDataset


@DATASETS.register_module()
class SOP(DMLBaseDataset):
    """Stanford Online Products for deep metric learning (docs/datasets.md).

    Reads ``Ebay_train.txt`` / ``Ebay_test.txt`` of the original zip (one
    header line ``image_id class_id super_class_id path``, then one row per
    image, ``path`` relative to ``data_root``); images stay in the twelve
    ``<category>_final/`` folders. The split is by file (the two txt files
    have disjoint classes). ``gt_label`` is re-indexed from 0 per split in
    the sorted order of the original ``class_id`` (kept, with
    ``super_class_id``, in each data info). Rows naming macOS artefacts
    (``._*``, ``__MACOSX``) are skipped.

    ``full_size_expectations`` (checked with ``verify_counts=True``):

    =====  ======  =======
    split  images  classes
    =====  ======  =======
    train  59,551   11,318
    test   60,502   11,316
    =====  ======  =======

    Args:
        data_root (str): The ``Stanford_Online_Products`` folder.
        split (str): ``'train'`` or ``'test'``. Defaults to ``'train'``.
        check_files (bool): Check at load time that every image exists
            (one ``os.scandir`` per category folder, fast on 120k files).
            Defaults to True.
        verify_counts (bool): Check the counts above. Defaults to False.
        **kwargs: See :class:`~.dml_base_dataset.DMLBaseDataset`.
    """

    DATASET_NAME = 'Stanford Online Products'
    SOURCE = ('https://cvgl.stanford.edu/projects/lifted_struct/ '
              '(Stanford_Online_Products.zip)')
    LAYOUT = """\
Stanford_Online_Products/
|-- bicycle_final/
|   |-- 111085122871_0.JPG
|   `-- ...
|-- ... (12 <category>_final/ folders)
|-- Ebay_train.txt   header "image_id class_id super_class_id path",
|                    then e.g. "1 1 1 bicycle_final/111085122871_0.JPG"
`-- Ebay_test.txt    same format
"""
    SPLITS = ('train', 'test')
    FULL_SIZE_EXPECTATIONS = {'train': (59551, 11318), 'test': (60502, 11316)}
    ANN_FILES = {'train': 'Ebay_train.txt', 'test': 'Ebay_test.txt'}
    HEADER = ('image_id', 'class_id', 'super_class_id', 'path')

    def load_split(self) -> Tuple[List[Tuple[str, Any]], Dict[Any, str]]:
        """Read ``Ebay_<split>.txt``."""
        root = self.require_data_root()
        path = osp.join(root, self.ANN_FILES[self.split])
        self.ann_file = path
        rows = self.read_rows(path, len(self.HEADER))
        if not rows or rows[0][0] != 1 or \
                tuple(f.lower() for f in rows[0][1]) != self.HEADER:
            raise self.malformed(
                path, f'first line must be the header '
                f'{" ".join(self.HEADER)!r}', 1)
        samples = []
        for lineno, (_, cid, super_cid, rel_path) in rows[1:]:
            if is_macos_junk(rel_path):
                continue
            cid = self.parse_int(cid, path, lineno, 'class_id')
            super_cid = self.parse_int(super_cid, path, lineno,
                                       'super_class_id')
            samples.append(
                (osp.join(root,
                          rel_path), cid, dict(super_class_id=super_cid)))
        return samples, {}
