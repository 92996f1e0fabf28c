"""CUB-200-2011 read from the original download, in place
(docs/datasets.md)."""
import os
import os.path as osp
import shutil
from typing import Any, Dict, List, Optional, Tuple

from gcahng.registry import DATASETS
from .dataset_files import is_macos_junk
from .dml_base_dataset import DMLBaseDataset


@DATASETS.register_module()
class CUB(DMLBaseDataset):
    """CUB-200-2011 for deep metric learning (docs/datasets.md).

    Reads ``images.txt`` (``<image_id> <class_folder>/<file>.jpg``) joined
    with ``image_class_labels.txt`` (``<image_id> <class_id>``) and
    ``classes.txt`` (``<class_id> <class_folder>``) of the original tarball;
    images stay in ``images/``. The DML split is by class, ignoring
    ``train_test_split.txt``: classes 1–100 train, 101–200 test. ``gt_label``
    is re-indexed from 0 per split in the sorted order of the original class
    id (kept as ``class_id``). Lines naming macOS artefacts (``._*``,
    ``__MACOSX``) are skipped.

    ``full_size_expectations`` (checked with ``verify_counts=True``):

    =====  ======  =======
    split  images  classes
    =====  ======  =======
    train   5,864      100
    test    5,924      100
    =====  ======  =======

    Args:
        data_root (str): The ``CUB_200_2011`` folder (holding ``images/``
            and the txt files), or its parent.
        split (str): ``'train'`` (classes 1–100) or ``'test'`` (101–200).
            Defaults to ``'train'``.
        check_files (bool): Check at load time that every image exists.
            Defaults to True.
        verify_counts (bool): Check the counts above. Defaults to False.
        **kwargs: See :class:`~.dml_base_dataset.DMLBaseDataset`
            (``pipeline``, ``test_mode``, ``lazy_init``, ...).

    Examples:
        >>> from gcahng.datasets.cub import CUB
        >>> train = CUB('data/CUB_200_2011', split='train')
    """

    DATASET_NAME = 'CUB-200-2011'
    SOURCE = ('https://www.vision.caltech.edu/datasets/cub_200_2011/ '
              '(CUB_200_2011.tgz, now served from '
              'https://data.caltech.edu/records/65de6-vzc94)')
    LAYOUT = """\
CUB_200_2011/
|-- images/
|   |-- 001.Black_footed_Albatross/
|   |   |-- Black_Footed_Albatross_0001_796111.jpg
|   |   `-- ...
|   `-- ... (200 class folders)
|-- images.txt              <image_id> <class_folder>/<file>.jpg
|-- image_class_labels.txt  <image_id> <class_id>
`-- classes.txt             <class_id> <class_folder>
"""
    SPLITS = ('train', 'test')
    FULL_SIZE_EXPECTATIONS = {'train': (5864, 100), 'test': (5924, 100)}
    NUM_CLASSES = 200
    #: The last class id of the training split (1-based, inclusive).
    LAST_TRAIN_CLASS = 100
    FOLDER_NAME = 'CUB_200_2011'

    def resolve_root(self) -> str:
        """The folder holding ``images.txt`` (data_root or its child)."""
        root = self.require_data_root()
        if not osp.isfile(osp.join(root, 'images.txt')):
            child = osp.join(root, self.FOLDER_NAME)
            if osp.isfile(osp.join(child, 'images.txt')):
                root = child
        return root

    def load_split(self) -> Tuple[List[Tuple[str, Any]], Dict[Any, str]]:
        """Read ``images.txt``, ``image_class_labels.txt``, ``classes.txt``."""
        root = self.resolve_root()
        self.data_root = root
        images_file = osp.join(root, 'images.txt')
        labels_file = osp.join(root, 'image_class_labels.txt')
        classes_file = osp.join(root, 'classes.txt')
        self.ann_file = images_file
        for path in (images_file, labels_file, classes_file):
            self.require_file(path)
        image_dir = self.require_dir(
            osp.join(root, 'images'), 'image folder') if self.check_files \
            else osp.join(root, 'images')

        class_names = {}
        for lineno, (cid, name) in self.read_rows(classes_file, 2):
            class_names[self.parse_int(cid, classes_file, lineno,
                                       'class id')] = name

        labels = {}
        for lineno, (img_id, cid) in self.read_rows(labels_file, 2):
            img_id = self.parse_int(img_id, labels_file, lineno, 'image id')
            cid = self.parse_int(cid, labels_file, lineno, 'class id')
            if not 1 <= cid <= self.NUM_CLASSES:
                raise self.malformed(
                    labels_file,
                    f'class id {cid} outside 1..{self.NUM_CLASSES}', lineno)
            if img_id in labels:
                raise self.malformed(labels_file,
                                     f'duplicate image id {img_id}', lineno)
            labels[img_id] = cid

        train = self.split == 'train'
        samples = []
        seen = set()
        for lineno, (img_id, rel_path) in self.read_rows(images_file, 2):
            if is_macos_junk(rel_path):
                continue
            img_id = self.parse_int(img_id, images_file, lineno, 'image id')
            if img_id in seen:
                raise self.malformed(images_file,
                                     f'duplicate image id {img_id}', lineno)
            seen.add(img_id)
            if img_id not in labels:
                raise self.malformed(
                    images_file, f'image id {img_id} has no class in '
                    f'{labels_file}', lineno)
            cid = labels[img_id]
            if (cid <= self.LAST_TRAIN_CLASS) != train:
                continue
            samples.append((osp.join(image_dir, rel_path), cid))
        return samples, class_names


def write_cub_layout(out: str,
                     classes: List[str],
                     images: Dict[str, Dict[str, bytes]],
                     num_train: int = 100) -> int:
    """Write ``classes`` and their images in the CUB-200-2011 layout under
    ``out`` (replacing it), for :class:`CUB` and the readers built on it:
    the first ``num_train`` classes get ids 1.. (the reader's training
    split), the others ids 101.. (its test split), each image
    ``images/<id>.<class>/<sample>.png`` from ``images[class][sample]``
    (PNG bytes). The converters of the offline benchmarks write with it.
    Returns the number of images."""
    if osp.isdir(out):
        shutil.rmtree(out)
    os.makedirs(osp.join(out, 'images'))
    rows_img, rows_lbl, rows_cls = [], [], []
    img_id = 0
    ids = list(range(1, num_train + 1)) + list(
        range(101, 101 + len(classes) - num_train))
    for cid, name in zip(ids, classes):
        folder = f'{cid:03d}.{name}'
        os.makedirs(osp.join(out, 'images', folder))
        rows_cls.append(f'{cid} {folder}')
        for family, png in sorted(images[name].items()):
            img_id += 1
            rel = f'{folder}/{family}.png'
            with open(osp.join(out, 'images', rel), 'wb') as f:
                f.write(png)
            rows_img.append(f'{img_id} {rel}')
            rows_lbl.append(f'{img_id} {cid}')
    for fname, rows in (('images.txt', rows_img), ('image_class_labels.txt',
                                                   rows_lbl), ('classes.txt',
                                                               rows_cls)):
        with open(osp.join(out, fname), 'w') as f:
            f.write('\n'.join(rows) + '\n')
    return img_id


def write_benchmark_splits(names: List[str],
                           images: Dict[str, Dict[str, bytes]],
                           num_classes: int,
                           out: str,
                           dev: Optional[str] = None,
                           pretrain: Optional[str] = None,
                           pretrain_train_classes: int = 0) -> dict:
    """The three folders of an offline benchmark (docs/datasets.md), each in
    the CUB layout (:func:`write_cub_layout`), and their statistics:

    - ``out``: the first ``num_classes`` of ``names``, half of them to train
      on and half to test on (class-disjoint);
    - ``dev`` (optional): the development split, the training half re-split
      into 60 % of its classes to train on and 40 % to validate on, so that
      model selection never sees a test class;
    - ``pretrain`` (optional): the classes after the first ``num_classes``,
      ``pretrain_train_classes`` of them to train on, the rest to validate
      on: the source of a backbone pretrained on other classes.

    Returns ``dict(benchmark=..., dev=..., pretrain=...)`` (the parts
    written) with each part's root, classes and images.
    """
    main, rest = names[:num_classes], names[num_classes:]
    half = num_classes // 2
    counts = [len(images[n]) for n in main]
    stats: Dict[str, dict] = dict(
        benchmark=dict(
            root=out,
            classes=len(main),
            images=write_cub_layout(out, main, images, half),
            train_classes=half,
            train_images=sum(counts[:half]),
            test_classes=len(main) - half,
            test_images=sum(counts[half:]),
            per_class_min=min(counts),
            per_class_mean=round(sum(counts) / len(counts), 1),
            per_class_max=max(counts)))
    parts = []
    if dev:
        parts.append(('dev', dev, main[:half], half * 3 // 5))
    if pretrain and rest:
        parts.append(('pretrain', pretrain, rest, pretrain_train_classes))
    for key, root, classes, num_train in parts:
        stats[key] = dict(
            root=root,
            train_classes=num_train,
            val_classes=len(classes) - num_train,
            images=write_cub_layout(root, classes, images, num_train))
    return stats
