"""Your own images as a DML dataset: one CSV row per image (data/README.md).

The format is open-metric-learning's: columns ``label``, ``path``, ``split``
(``train`` / ``validation``) and, optionally, ``is_query``, ``is_gallery``
and ``category``; ``tools/dataset_converters/folder_to_csv.py`` writes it
for a folder of class folders.
"""
import csv
import os
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Tuple

from gcahng.registry import DATASETS
from .dataset_files import is_macos_junk
from .dml_base_dataset import DMLBaseDataset

#: The evaluation protocols, named as ``RetrievalMetric``'s ``mode``.
PROTOCOLS = ('leave_one_out', 'query_gallery')
#: File name endings taken for images in a folder (as mmpretrain's).
IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif',
                  '.tiff', '.webp')
_TRUE = ('1', 'true', 'yes')
_FALSE = ('0', 'false', 'no')


def find_images(root: str) -> List[str]:
    """Every image under ``root`` (recursively, by :data:`IMG_EXTENSIONS`,
    macOS artefacts skipped), sorted, as paths starting with ``root``."""
    found = []
    for folder, dirs, files in os.walk(root, followlinks=True):
        dirs.sort()
        for name in sorted(files):
            path = osp.join(folder, name)
            if name.lower().endswith(IMG_EXTENSIONS) and \
                    not is_macos_junk(path):
                found.append(path)
    return found


def folder_class(root: str, path: str) -> Optional[str]:
    """The class of ``path`` in an ``ImageFolder`` tree at ``root``: its
    first folder below ``root``, or None for an image directly in it."""
    parts = osp.relpath(path, root).replace('\\', '/').split('/')
    return parts[0] if len(parts) > 1 else None


@DATASETS.register_module()
class CSVRetrievalDataset(DMLBaseDataset):
    """A retrieval dataset listed in a CSV file, one row per image.

    Columns (header on the first line, any order, extra columns ignored):

    ==============  =========  ==============================================
    column          required   meaning
    ==============  =========  ==============================================
    ``label``       yes        the class (an integer or any non-empty text)
    ``path``        yes        the image, relative to ``data_root`` (or
                               absolute)
    ``split``       yes        ``train`` or ``validation``
    ``is_query``    no         ``1``/``0`` (``true``/``false``), validation
                               rows only
    ``is_gallery``  no         ``1``/``0``, validation rows only
    ``category``    no         a coarser group, kept as ``category``
    ``class_name``  no         shown for the label (``metainfo['classes']``)
    ==============  =========  ==============================================

    ``gt_label`` is re-indexed from 0 per split over the sorted labels
    (numerically when every label is an integer), the original label kept as
    ``class_id``. Training draws balanced ``N x M`` batches with
    ``BalancedClassSampler`` as for the benchmarks. The validation rows are
    evaluated with one of the two protocols of the benchmarks:

    - ``'leave_one_out'`` (CUB, Cars196, SOP): every image queries all the
      others, itself excluded. The CSV has no ``is_query`` / ``is_gallery``
      columns, or every validation row has both set.
    - ``'query_gallery'`` (InShop): every validation row is either a query
      (``is_query=1, is_gallery=0``) or a gallery image (``0, 1``); each data
      info carries ``is_query`` (what ``tools/analysis_tools`` read),
      which the pipeline's ``PackInputs`` must pass on (``meta_keys`` with
      ``'is_query'``) to the metric with ``mode='query_gallery'``. Query
      and gallery share one label space.

    Any other mix (a row both query and gallery next to one-sided rows, a row
    neither) is an error, as is a ``protocol`` argument the file does not
    follow. Bad rows raise :class:`~gcahng.datasets.layout_errors.
    MalformedAnnotationError` naming the file, the line and the column; a
    missing image names its line too.

    Args:
        data_root (str): The folder the ``path`` column is relative to.
        ann_file (str): The CSV file, relative to ``data_root`` or absolute.
            Defaults to ``'data.csv'``.
        split (str): ``'train'`` or ``'validation'`` (``'test'`` reads the
            validation rows too, as the benchmark configs name it).
            Defaults to ``'train'``.
        protocol (str, optional): ``'leave_one_out'`` or
            ``'query_gallery'``: the protocol the validation rows must follow
            (the config passes the metric's ``mode``). Defaults to None
            (read from the file, see :attr:`protocol`).
        **kwargs: See :class:`~.dml_base_dataset.DMLBaseDataset`
            (``pipeline``, ``check_files``, ``check_images``, ``test_mode``,
            ...).

    Examples:
        >>> from gcahng.datasets import CSVRetrievalDataset
        >>> train = CSVRetrievalDataset('data/my_images', 'data.csv')
        >>> test = CSVRetrievalDataset('data/my_images', 'data.csv',
        ...                            split='validation')
        >>> test.protocol
        'leave_one_out'
    """

    DATASET_NAME = 'CSV retrieval dataset'
    LAYOUT_INTRO = ('Expected a CSV file (header line first, one row per '
                    'image, paths relative to data_root):')
    SOURCE_LABEL = 'Make one from class folders'
    SOURCE = ('python tools/dataset_converters/folder_to_csv.py ROOT '
              '--out ROOT/data.csv')
    LAYOUT = """\
label,path,split,is_query,is_gallery,category
0,images/cat/001.jpg,train,,,animal
0,images/cat/002.jpg,train,,,animal
7,images/owl/001.jpg,validation,1,0,bird
7,images/owl/002.jpg,validation,0,1,bird
    label       class (integer or text), required
    path        image path relative to data_root, required
    split       train | validation, required
    is_query    1/0, optional (validation rows)
    is_gallery  1/0, optional (validation rows)
    category    optional
"""
    SPLITS = ('train', 'validation', 'test')
    REQUIRED_COLUMNS = ('label', 'path', 'split')
    CSV_SPLITS = ('train', 'validation')

    def __init__(self,
                 data_root: str,
                 ann_file: str = 'data.csv',
                 split: str = 'train',
                 protocol: Optional[str] = None,
                 **kwargs) -> None:
        if protocol is not None and protocol not in PROTOCOLS:
            raise ValueError(f'CSVRetrievalDataset: protocol must be one of '
                             f'{PROTOCOLS} or None, got {protocol!r}')
        self.requested_protocol = protocol
        #: The validation rows' protocol (``None`` for the train split).
        self.protocol: Optional[str] = None
        self._row_of: Dict[str, int] = {}
        super().__init__(
            data_root=data_root, split=split, ann_file=ann_file, **kwargs)

    # ------------------------------------------------------------------
    def _flag(self, row: dict, column: str, lineno: int) -> Optional[bool]:
        """``is_query`` / ``is_gallery`` of a validation row."""
        if column not in row or row[column] is None:
            return None
        text = row[column].strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise self.malformed(
            self.ann_file, f'column {column!r} must be 1/0 (true/false) on '
            f'a validation row, got {row[column]!r}', lineno)

    def read_csv(self) -> List[Tuple[int, dict]]:
        """``(line_number, row)`` of every non-blank row; checks the header
        and the required fields."""
        path = self.require_file(self.ann_file, 'CSV file')
        try:
            with open(path, newline='', encoding='utf-8-sig') as f:
                reader = csv.DictReader(f)
                header = [c.strip() for c in reader.fieldnames or []]
                missing = [c for c in self.REQUIRED_COLUMNS if c not in header]
                if missing:
                    raise self.malformed(
                        path, f'the header has no column(s) {missing} '
                        f'(found {header})', 1)
                reader.fieldnames = header
                rows = []
                for row in reader:
                    lineno = reader.line_num
                    if not any((v or '').strip()
                               for v in row.values() if isinstance(v, str)):
                        continue
                    for column in self.REQUIRED_COLUMNS:
                        if not (row.get(column) or '').strip():
                            raise self.malformed(
                                path, f'column {column!r} is empty', lineno)
                    rows.append((lineno, row))
        except UnicodeDecodeError as err:
            raise self.malformed(path, f'not a text file: {err}') from None
        except csv.Error as err:
            raise self.malformed(path, f'not a CSV file: {err}') from None
        return rows

    def load_split(self) -> Tuple[List[Tuple[str, Any]], Dict[Any, str]]:
        """Read the rows of the split and the validation protocol."""
        self.require_data_root()
        rows = self.read_csv()
        want = 'train' if self.split == 'train' else 'validation'
        labels, picked = [], []
        for lineno, row in rows:
            split = row['split'].strip()
            if split not in self.CSV_SPLITS:
                raise self.malformed(
                    self.ann_file, f'column \'split\' must be one of '
                    f'{self.CSV_SPLITS}, got {split!r}', lineno)
            if split == want:
                picked.append((lineno, row))
                labels.append(row['label'].strip())
        as_int = all(_is_int(label) for label in labels)
        samples = []
        self._row_of = {}
        flags = []
        names: Dict[Any, str] = {}
        for (lineno, row), label in zip(picked, labels):
            img_path = osp.join(self.data_root, row['path'].strip())
            self._row_of.setdefault(img_path, lineno)
            extra: Dict[str, Any] = {}
            category = (row.get('category') or '').strip()
            if category:
                extra['category'] = category
            if want == 'validation':
                q = self._flag(row, 'is_query', lineno)
                g = self._flag(row, 'is_gallery', lineno)
                flags.append((lineno, q, g))
            class_id = int(label) if as_int else label
            name = (row.get('class_name') or '').strip()
            if name:
                names.setdefault(class_id, name)
            samples.append((img_path, class_id, extra))
        if want == 'validation' and samples:
            self.protocol = self._protocol(flags)
            if self.protocol == 'query_gallery':
                for sample, (_, q, _) in zip(samples, flags):
                    sample[2]['is_query'] = bool(q)
        return samples, names

    def _protocol(
            self, flags: Sequence[Tuple[int, Optional[bool],
                                        Optional[bool]]]) -> str:
        """The protocol the validation rows' flags express (or an error)."""
        both, one_sided = None, None
        for lineno, q, g in flags:
            q = True if q is None else q
            g = True if g is None else g
            if not (q or g):
                raise self.malformed(
                    self.ann_file, 'a validation row must be a query, a '
                    'gallery image or both (is_query=0, is_gallery=0)', lineno)
            if q and g:
                both = both or lineno
            else:
                one_sided = one_sided or lineno
        if both and one_sided:
            raise self.malformed(
                self.ann_file, f'line {both} is both query and gallery, line '
                f'{one_sided} only one of them: either every validation row '
                'is both (every image queries all others) or each is one '
                '(query -> gallery)', both)
        protocol = 'query_gallery' if one_sided else 'leave_one_out'
        if self.requested_protocol not in (None, protocol):
            raise self.layout_error(
                f'the config evaluates with protocol '
                f'{self.requested_protocol!r} but the validation rows are '
                f'{protocol!r} (' +
                ('is_query / is_gallery split them into queries and a '
                 'gallery' if one_sided else 'no row is a query only') +
                '); set the metric\'s mode and the dataset\'s protocol to '
                f'{protocol!r}', self.ann_file)
        return protocol

    def missing_image_desc(self, path: str) -> str:
        """A missing image by its CSV line and column."""
        return (f'image of line {self._row_of.get(path)}, column \'path\' '
                f'of {self.ann_file}')


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True
