"""Cars196 (Stanford Cars) read from the original download
(docs/datasets.md)."""
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Tuple

from gcahng.registry import DATASETS
from .dataset_files import is_macos_junk
from .dml_base_dataset import DMLBaseDataset
from .matlab_values import mat_int, mat_str


@DATASETS.register_module()
class Cars196(DMLBaseDataset):
    """Cars196 (Stanford Cars) for deep metric learning (docs/datasets.md).

    Two original layouts are read in place, detected automatically:

    - ``'annos_mat'``: ``car_ims/`` and ``cars_annos.mat`` (struct array
      ``annotations`` with fields ``relative_im_path``, ``bbox_x1`` ..
      ``bbox_y2``, ``class``, ``test``; cell array ``class_names``). Used
      when ``cars_annos.mat`` is present.
    - ``'devkit'``: ``cars_train/``, ``cars_test/``, ``devkit/`` with
      ``cars_train_annos.mat`` (fields ``bbox_*``, ``class``, ``fname``) and
      ``cars_meta.mat`` (``class_names``, optional), plus
      ``cars_test_annos_withlabels.mat`` (same fields as the train file) in
      ``devkit/`` or in ``data_root``. Both halves are pooled. The Kaggle
      mirror's nesting (``cars_train/cars_train/``,
      ``car_devkit/devkit/``) is accepted too.

    Either way the DML split is by class, ignoring the ``test`` flag and the
    official train/test halves: classes 1–98 train, 99–196 test. ``gt_label``
    is re-indexed from 0 per split in the sorted order of the original class
    id (kept as ``class_id``). Entries naming macOS artefacts (``._*``,
    ``__MACOSX``) are skipped, and ``._*.mat`` files are never read.

    ``full_size_expectations`` (checked with ``verify_counts=True``):

    =====  ======  =======
    split  images  classes
    =====  ======  =======
    train   8,054       98
    test    8,131       98
    =====  ======  =======

    Args:
        data_root (str): The folder holding ``cars_annos.mat`` and
            ``car_ims/``, or the devkit layout.
        split (str): ``'train'`` (classes 1–98) or ``'test'`` (99–196).
            Defaults to ``'train'``.
        layout (str): ``'auto'`` (default), ``'annos_mat'`` or ``'devkit'``.
        check_files (bool): Check at load time that every image exists.
            Defaults to True.
        verify_counts (bool): Check the counts above. Defaults to False.
        **kwargs: See :class:`~.dml_base_dataset.DMLBaseDataset`.
    """

    DATASET_NAME = 'Cars196'
    SOURCE = ('http://ai.stanford.edu/~jkrause/cars/car_dataset.html '
              '(original URL is gone; mirrors keep either car_ims.tgz + '
              'cars_annos.mat, or the devkit layout, e.g. Kaggle '
              '"stanford-cars-dataset" + cars_test_annos_withlabels.mat)')
    LAYOUT = """\
cars196/                          either (a) the car_ims layout:
|-- car_ims/
|   |-- 000001.jpg
|   `-- ... (16,185 images)
`-- cars_annos.mat                annotations(relative_im_path, bbox_x1,
                                  bbox_y1, bbox_x2, bbox_y2, class, test),
                                  class_names
cars196/                          or (b) the devkit layout:
|-- cars_train/                   00001.jpg ... (8,144 images)
|-- cars_test/                    00001.jpg ... (8,041 images)
|-- devkit/
|   |-- cars_train_annos.mat      annotations(bbox_*, class, fname)
|   `-- cars_meta.mat             class_names
`-- cars_test_annos_withlabels.mat  annotations(bbox_*, class, fname),
                                    here or in devkit/
(Kaggle nesting cars_train/cars_train/, cars_test/cars_test/ and
car_devkit/devkit/ is accepted too.)
"""
    SPLITS = ('train', 'test')
    FULL_SIZE_EXPECTATIONS = {'train': (8054, 98), 'test': (8131, 98)}
    NUM_CLASSES = 196
    #: The last class id of the training split (1-based, inclusive).
    LAST_TRAIN_CLASS = 98
    LAYOUTS = ('auto', 'annos_mat', 'devkit')

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 layout: str = 'auto',
                 **kwargs) -> None:
        if layout not in self.LAYOUTS:
            raise ValueError(f'Cars196: layout must be one of {self.LAYOUTS}'
                             f', got {layout!r}')
        self.layout = layout
        super().__init__(data_root=data_root, split=split, **kwargs)

    # ------------------------------------------------------------------
    @staticmethod
    def _first_dir(candidates: Sequence[str]) -> Optional[str]:
        for path in candidates:
            if osp.isdir(path):
                return path
        return None

    def _devkit_dir(self, root: str) -> Optional[str]:
        for path in (osp.join(root, 'devkit'),
                     osp.join(root, 'car_devkit',
                              'devkit'), osp.join(root, 'car_devkit')):
            if osp.isfile(osp.join(path, 'cars_train_annos.mat')):
                return path
        return None

    def detect_layout(self, root: str) -> str:
        """``'annos_mat'`` or ``'devkit'``, or a layout error."""
        if self.layout != 'auto':
            return self.layout
        if osp.isfile(osp.join(root, 'cars_annos.mat')):
            return 'annos_mat'
        if self._devkit_dir(root) is not None:
            return 'devkit'
        raise self.layout_error(
            'neither cars_annos.mat nor devkit/cars_train_annos.mat found in',
            root)

    def load_mat(self, path: str, key: str) -> dict:
        """``scipy.io.loadmat(path)``, checked to hold variable ``key``."""
        from scipy.io import loadmat
        self.require_file(path)
        try:
            mat = loadmat(path)
        except Exception as err:
            raise self.malformed(
                path, f'cannot be read as a MATLAB file: {err}') from None
        if key not in mat:
            raise self.malformed(path, f'no variable {key!r}')
        return mat

    def read_struct(self, path: str, mat: dict, key: str,
                    fields: Sequence[str]) -> List[Tuple[int, Any]]:
        """``(entry_number, record)`` of struct array ``key`` (1-based)."""
        array = mat[key]
        names = getattr(array.dtype, 'names', None) or ()
        missing = [f for f in fields if f not in names]
        if missing:
            raise self.malformed(
                path, f'struct array {key!r} lacks field(s) {missing}, has '
                f'{list(names)}')
        return list(enumerate(array.ravel(), 1))

    def _class_id(self, record: Any, path: str, entry: int) -> int:
        try:
            cid = mat_int(record['class'])
        except (ValueError, TypeError) as err:
            raise self.malformed(path, f'entry {entry}: bad class: {err}') \
                from None
        if not 1 <= cid <= self.NUM_CLASSES:
            raise self.malformed(
                path,
                f'entry {entry}: class {cid} outside 1..{self.NUM_CLASSES}')
        return cid

    def _string(self, record: Any, field: str, path: str, entry: int) -> str:
        try:
            return mat_str(record[field])
        except (ValueError, TypeError) as err:
            raise self.malformed(path, f'entry {entry}: bad {field}: {err}') \
                from None

    def _class_names(self, mat: Optional[dict]) -> Dict[int, str]:
        if mat is None or 'class_names' not in mat:
            return {}
        names = {}
        for i, name in enumerate(mat['class_names'].ravel(), 1):
            try:
                names[i] = mat_str(name)
            except (ValueError, TypeError):
                names[i] = str(i)
        return names

    def _keep(self, cid: int) -> bool:
        return (cid <= self.LAST_TRAIN_CLASS) == (self.split == 'train')

    # ------------------------------------------------------------------
    def load_split(self) -> Tuple[List[Tuple[str, Any]], Dict[Any, str]]:
        """Read the annotations of the detected layout."""
        root = self.require_data_root()
        if self.detect_layout(root) == 'annos_mat':
            return self._load_annos_mat(root)
        return self._load_devkit(root)

    def _load_annos_mat(self, root: str) -> tuple:
        path = osp.join(root, 'cars_annos.mat')
        self.ann_file = path
        mat = self.load_mat(path, 'annotations')
        if self.check_files:
            self.require_dir(osp.join(root, 'car_ims'), 'image folder')
        samples = self._annotations(path, mat, 'relative_im_path', root)
        return samples, self._class_names(mat)

    def _load_devkit(self, root: str) -> tuple:
        devkit = self._devkit_dir(root) or osp.join(root, 'devkit')
        train_file = self.require_file(
            osp.join(devkit, 'cars_train_annos.mat'))
        test_file = None
        for candidate in (osp.join(devkit, 'cars_test_annos_withlabels.mat'),
                          osp.join(root, 'cars_test_annos_withlabels.mat')):
            if osp.isfile(candidate):
                test_file = candidate
                break
        if test_file is None:
            raise self.layout_error(
                'devkit layout without test labels (the devkit\'s '
                'cars_test_annos.mat has no class field; get '
                'cars_test_annos_withlabels.mat and put it in devkit/ or '
                'data_root): annotation file not found',
                osp.join(root, 'cars_test_annos_withlabels.mat'))
        self.ann_file = train_file
        self.annotation_desc = f'{train_file} or {test_file}'

        meta_file = osp.join(devkit, 'cars_meta.mat')
        meta = self.load_mat(meta_file, 'class_names') \
            if osp.isfile(meta_file) else None

        samples = []
        for path, folder in ((train_file, 'cars_train'), (test_file,
                                                          'cars_test')):
            img_dir = self._first_dir(
                [osp.join(root, folder, folder),
                 osp.join(root, folder)]) or osp.join(root, folder)
            if self.check_files:
                self.require_dir(img_dir, 'image folder')
            samples += self._annotations(path,
                                         self.load_mat(path, 'annotations'),
                                         'fname', img_dir)
        return samples, self._class_names(meta)

    def _annotations(self, path: str, mat: Any, file_field: str,
                     img_dir: str) -> List[Tuple[str, int]]:
        """``(image path, class id)`` of this split from the ``annotations``
        struct of ``path``, the image named by ``file_field`` under
        ``img_dir``; macOS artefacts skipped."""
        samples = []
        for entry, rec in self.read_struct(path, mat, 'annotations',
                                           (file_field, 'class')):
            fname = self._string(rec, file_field, path, entry)
            if is_macos_junk(fname):
                continue
            cid = self._class_id(rec, path, entry)
            if self._keep(cid):
                samples.append((osp.join(img_dir, fname), cid))
        return samples
