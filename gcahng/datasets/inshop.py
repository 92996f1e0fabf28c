"""DeepFashion In-shop Clothes Retrieval, from the original download.

See docs/datasets.md.
"""
import os.path as osp
from typing import Any, Dict, List, Sequence, Tuple

import numpy as np

from gcahng.registry import DATASETS
from .dataset_files import is_macos_junk
from .dml_base_dataset import DMLBaseDataset


@DATASETS.register_module()
class InShop(DMLBaseDataset):
    """In-shop Clothes Retrieval (DeepFashion) for DML (docs/datasets.md).

    Reads ``list_eval_partition.txt`` of the original download (line 1: the
    number of entries; line 2: the header ``image_name item_id
    evaluation_status``; then rows such as
    ``img/WOMEN/Dresses/id_00000002/02_1_front.jpg id_00000002 train``);
    images stay in ``img/``. ``evaluation_status`` is ``train``, ``query`` or
    ``gallery``. Rows naming macOS artefacts (``._*``, ``__MACOSX``) are
    skipped.

    Splits:

    - ``'train'``: ``gt_label`` re-indexed from 0 over the sorted train item
      ids.
    - ``'query'`` / ``'gallery'``: ``gt_label`` re-indexed with **one**
      mapping shared by query and gallery (sorted item ids of query ∪
      gallery), so labels are comparable between the two datasets. Each
      data info has ``is_query`` (bool).
    - ``'test'``: the query rows followed by the gallery rows in one dataset,
      same shared mapping, with ``is_query`` flags. This is how the val /
      test dataloader feeds the retrieval metric in query → gallery mode.
      The metric reads ``is_query`` from each data sample's metainfo, so the
      pipeline's ``PackInputs`` must carry it::

          dict(type='PackInputs',
               meta_keys=('sample_idx', 'img_path', 'ori_shape', 'img_shape',
                          'scale_factor', 'flip', 'flip_direction',
                          'is_query'))

      :meth:`get_query_mask` gives the same flags as an array.

    The original ``item_id`` (e.g. ``'id_00000002'``) is kept as
    ``class_id``.

    ``full_size_expectations`` (checked with ``verify_counts=True``; classes
    of query / gallery / test count the shared label space):

    =======  ======  =======
    split    images  classes
    =======  ======  =======
    train    25,882    3,997
    query    14,218    3,985
    gallery  12,612    3,985
    test     26,830    3,985
    =======  ======  =======

    Args:
        data_root (str): The folder holding ``img/`` and
            ``list_eval_partition.txt`` (also looked for in ``Eval/``, where
            the original download keeps it).
        split (str): ``'train'``, ``'query'``, ``'gallery'`` or ``'test'``.
            Defaults to ``'train'``.
        check_files (bool): Check at load time that every image exists.
            Defaults to True.
        verify_counts (bool): Check the counts above. Defaults to False.
        **kwargs: See :class:`~.dml_base_dataset.DMLBaseDataset`.
    """

    DATASET_NAME = 'In-shop Clothes Retrieval (DeepFashion)'
    SOURCE = ('https://mmlab.ie.cuhk.edu.hk/projects/DeepFashion/'
              'InShopRetrieval.html (Img/img.zip and '
              'Eval/list_eval_partition.txt)')
    LAYOUT = """\
inshop/
|-- img/
|   |-- MEN/
|   `-- WOMEN/
|       `-- Dresses/
|           `-- id_00000002/
|               |-- 02_1_front.jpg
|               `-- ...
`-- list_eval_partition.txt   (or Eval/list_eval_partition.txt)
    line 1: number of entries, e.g. "52712"
    line 2: "image_name item_id evaluation_status"
    then one row per image, evaluation_status train | query | gallery:
    "img/WOMEN/Dresses/id_00000002/02_1_front.jpg id_00000002 train"
"""
    SPLITS = ('train', 'query', 'gallery', 'test')
    FULL_SIZE_EXPECTATIONS = {
        'train': (25882, 3997),
        'query': (14218, 3985),
        'gallery': (12612, 3985),
        'test': (26830, 3985),
    }
    HEADER = ('image_name', 'item_id', 'evaluation_status')
    STATUSES = ('train', 'query', 'gallery')
    ANN_FILE = 'list_eval_partition.txt'

    def _find_ann_file(self, root: str) -> str:
        for path in (osp.join(root, self.ANN_FILE),
                     osp.join(root, 'Eval', self.ANN_FILE)):
            if osp.isfile(path):
                return path
        raise self.layout_error('annotation file not found',
                                osp.join(root, self.ANN_FILE))

    def load_split(self) -> Tuple[List[Tuple[str, Any]], Dict[Any, str]]:
        """Read ``list_eval_partition.txt``."""
        root = self.require_data_root()
        path = self._find_ann_file(root)
        self.ann_file = path
        try:
            with open(path, encoding='utf-8') as f:
                lines = f.read().splitlines()
        except UnicodeDecodeError as err:
            raise self.malformed(path, f'not a text file: {err}') from None
        count_line = lines[0].split() if lines else []
        if len(count_line) != 1 or not count_line[0].isdigit():
            raise self.malformed(path,
                                 'first line must be the number of entries', 1)
        if len(lines) < 2 or tuple(lines[1].split()) != self.HEADER:
            raise self.malformed(
                path, f'second line must be the header '
                f'{" ".join(self.HEADER)!r}', 2)
        rows = self.read_rows(path, len(self.HEADER), skip_lines=2)
        if len(rows) != int(count_line[0]):
            raise self.malformed(
                path, f'line 1 announces {int(count_line[0])} entries but '
                f'the file has {len(rows)} (truncated download?)', 1)

        wanted = ('query', 'gallery') if self.split == 'test' else \
            (self.split, )
        by_status: Dict[str, list] = {s: [] for s in self.STATUSES}
        for lineno, (rel_path, item_id, status) in rows:
            if status not in self.STATUSES:
                raise self.malformed(
                    path, f'evaluation_status must be one of '
                    f'{self.STATUSES}, got {status!r}', lineno)
            if is_macos_junk(rel_path):
                continue
            by_status[status].append((rel_path, item_id))

        # Query and gallery share one label space (query ∪ gallery).
        self._label_items = sorted(
            {item
             for _, item in by_status['train']}) if self.split == 'train' \
            else sorted({item for s in ('query', 'gallery')
                         for _, item in by_status[s]})
        samples = []
        for status in wanted:
            extra = {} if status == 'train' else \
                dict(is_query=status == 'query')
            for rel_path, item_id in by_status[status]:
                samples.append((osp.join(root, rel_path), item_id, extra))
        return samples, {}

    def label_space(self, samples: Sequence[tuple]) -> List[Any]:
        """Train: its own items; query/gallery/test: query ∪ gallery."""
        return self._label_items

    def get_query_mask(self) -> np.ndarray:
        """``is_query`` of every sample as a bool array (not for train)."""
        if self.split == 'train':
            raise ValueError('InShop: the train split has no query/gallery '
                             'roles')
        return np.asarray(
            [self.get_data_info(i)['is_query'] for i in range(len(self))],
            dtype=bool)
