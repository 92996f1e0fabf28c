"""The base of the DML benchmark readers (docs/datasets.md).

The four benchmarks (CUB-200-2011, Cars196, Stanford Online Products,
In-shop Clothes Retrieval) and CSV-listed images are read **from their
original files, in place**: no image is copied into class folders. Labels
are re-indexed per split (the label space), images are checked to exist
(:mod:`.dataset_files`) and to decode (:mod:`.image_checks`), and anything
that can go wrong on disk raises :class:`.layout_errors.DatasetLayoutError`
with a message that names the file, shows the expected layout and says
where the dataset comes from. The layout text and the download source of
each dataset live in one place, the ``LAYOUT`` / ``SOURCE`` class
attributes of its reader, so that the error messages and
``data/README.md`` agree (a test checks it).
"""
import logging
import os
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmpretrain.datasets import BaseDataset

from .dataset_files import find_missing_files
from .image_checks import decode_problems, image_problem
from .layout_errors import (DatasetLayoutError, MalformedAnnotationError,
                            format_layout_message)


class DMLBaseDataset(BaseDataset):
    """Base of the DML benchmark readers (docs/datasets.md).

    Subclasses set the class attributes below and implement
    :meth:`load_split`, which returns the split's raw samples as
    ``(img_path, class_id)`` pairs (``img_path`` absolute) together with the
    class names. This base re-indexes the labels (``gt_label`` from 0 per
    split, in sorted order of the original ``class_id``), checks that the
    images exist, rejects an empty split, optionally verifies the full-size
    counts, and turns an unreadable image in the pipeline into one clear
    :class:`DatasetLayoutError` naming the file and the dataset.

    Each data info holds ``img_path`` (absolute), ``gt_label`` (int) and
    ``class_id`` (the original id), plus any dataset-specific keys.

    Args:
        data_root (str): The dataset's top folder, see the subclass' layout.
        split (str): One of the subclass' ``SPLITS``.
        check_files (bool): Check at load time that every image named by the
            annotations exists (one ``os.scandir`` per folder). Defaults to
            True.
        check_images (str, optional): ``'decode'`` decodes every image of
            the split at load time (in parallel, with a progress bar) and
            raises one :class:`DatasetLayoutError` listing every file that
            does not decode, so that a corrupt test image is found before
            training, not at the first validation. Defaults to None.
        verify_counts (bool): Check the image and class counts against
            ``FULL_SIZE_EXPECTATIONS`` (the real, complete download) and raise
            :class:`DatasetLayoutError` if they differ. Defaults to False.
        test_mode (bool, optional): mmengine's ``test_mode`` (a ``None``
            from the pipeline is an error instead of a re-draw). Defaults to
            None: True for every split but ``'train'``.
        **kwargs: Passed to :class:`mmpretrain.datasets.BaseDataset`
            (``pipeline``, ``metainfo``, ``lazy_init``, ``indices``,
            ``serialize_data``, ``max_refetch``, ...).
    """

    #: Human-readable dataset name used in messages.
    DATASET_NAME: str = ''
    #: Expected on-disk layout, a tree (also shown in data/README.md).
    LAYOUT: str = ''
    #: Where the dataset comes from (also shown in data/README.md).
    SOURCE: str = ''
    #: The message line before ``LAYOUT`` (None: "Expected the original
    #: <name> download, unpacked in place ...").
    LAYOUT_INTRO: Optional[str] = None
    #: What ``SOURCE`` is, in messages.
    SOURCE_LABEL: str = 'Download'
    #: Allowed values of ``split``.
    SPLITS: Tuple[str, ...] = ('train', 'test')
    #: ``split -> (num_images, num_classes)`` of the complete download.
    FULL_SIZE_EXPECTATIONS: Dict[str, Tuple[int, int]] = {}

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 check_files: bool = True,
                 verify_counts: bool = False,
                 check_images: Optional[str] = None,
                 test_mode: Optional[bool] = None,
                 **kwargs) -> None:
        if split not in self.SPLITS:
            raise ValueError(f'{type(self).__name__}: split must be one of '
                             f'{self.SPLITS}, got {split!r}')
        if not isinstance(data_root, (str, os.PathLike)) or not data_root:
            raise self.layout_error(
                f'data_root must be a folder path, got {data_root!r}', None)
        self.split = split
        self.check_files = check_files
        self.verify_counts = verify_counts
        if check_images not in (None, 'decode'):
            raise ValueError(f'{type(self).__name__}: check_images must be '
                             f'None or "decode", got {check_images!r}')
        self.check_images = check_images
        if test_mode is None:
            test_mode = split != 'train'
        data_root = osp.abspath(osp.expanduser(os.fspath(data_root)))
        kwargs.setdefault('ann_file', '')
        super().__init__(data_root=data_root, test_mode=test_mode, **kwargs)

    # ------------------------------------------------------------------
    # errors
    @classmethod
    def layout_error(
            cls,
            problem: str,
            path: Optional[str],
            error_type: type = DatasetLayoutError) -> DatasetLayoutError:
        """Build (not raise) the dataset's layout error."""
        name = cls.DATASET_NAME or cls.__name__
        return error_type(
            format_layout_message(name, problem, path, cls.LAYOUT, cls.SOURCE,
                                  cls.LAYOUT_INTRO, cls.SOURCE_LABEL))

    @classmethod
    def malformed(cls,
                  path: str,
                  problem: str,
                  lineno: Optional[int] = None) -> MalformedAnnotationError:
        """Build a :class:`MalformedAnnotationError` for ``path``."""
        where = path if lineno is None else f'{path}, line {lineno}'
        return cls.layout_error(f'malformed annotation file ({problem})',
                                where, MalformedAnnotationError)

    def require_dir(self, path: str, what: str = 'folder') -> str:
        """Return ``path`` if it is a folder, else raise a layout error."""
        if not osp.isdir(path):
            raise self.layout_error(f'{what} not found', path)
        return path

    def require_file(self, path: str, what: str = 'annotation file') -> str:
        """Return ``path`` if it is a file, else raise a layout error."""
        if not osp.isfile(path):
            raise self.layout_error(f'{what} not found', path)
        return path

    def require_data_root(self) -> str:
        """Return ``self.data_root`` if it exists, else raise."""
        return self.require_dir(self.data_root, 'data_root folder')

    def read_rows(self,
                  path: str,
                  num_fields: int,
                  skip_lines: int = 0) -> List[Tuple[int, List[str]]]:
        """Read a whitespace-separated annotation file.

        Args:
            path (str): The file (must exist).
            num_fields (int): Fields expected on each row.
            skip_lines (int): Header lines to skip.

        Returns:
            list[tuple[int, list[str]]]: ``(line_number, fields)`` of each
            non-blank row, line numbers counted from 1.
        """
        self.require_file(path)
        try:
            with open(path, encoding='utf-8') as f:
                lines = f.read().splitlines()
        except UnicodeDecodeError as err:
            raise self.malformed(path, f'not a text file: {err}') from None
        rows = []
        for lineno, line in enumerate(lines[skip_lines:], skip_lines + 1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != num_fields:
                raise self.malformed(
                    path, f'expected {num_fields} whitespace-separated '
                    f'fields, got {len(fields)}: {line.strip()!r}', lineno)
            rows.append((lineno, fields))
        return rows

    def parse_int(self, text: str, path: str, lineno: int, what: str) -> int:
        """``int(text)`` or a :class:`MalformedAnnotationError`."""
        try:
            return int(text)
        except ValueError:
            raise self.malformed(
                path, f'{what} must be an integer, got '
                f'{text!r}', lineno) from None

    # ------------------------------------------------------------------
    # loading
    def load_split(self) -> Tuple[List[Tuple[str, Any]], Dict[Any, str]]:
        """Read the split from disk (subclasses).

        Returns:
            tuple: ``samples``, a list of ``(img_path, class_id)`` or
            ``(img_path, class_id, extra_info_dict)``; and ``class_names``,
            a dict ``class_id -> name`` covering at least the label space of
            the split (classes absent from it are ignored).
        """
        raise NotImplementedError

    def label_space(self, samples: Sequence[tuple]) -> List[Any]:
        """Sorted original class ids that define the labels of the split."""
        return sorted({s[1] for s in samples})

    def load_data_list(self) -> List[dict]:
        """Load the split: labels, file checks, counts (docs/datasets.md)."""
        samples, class_names = self.load_split()
        if not samples:
            raise self.layout_error(f'split {self.split!r} has no images',
                                    self.ann_file or self.data_root)
        if self.check_files:
            self.check_images_exist([s[0] for s in samples])
        if self.check_images == 'decode':
            self.check_images_decode([s[0] for s in samples])
        class_ids = self.label_space(samples)
        to_label = {cid: i for i, cid in enumerate(class_ids)}
        data_list = []
        for sample in samples:
            info = dict(
                img_path=sample[0],
                gt_label=to_label[sample[1]],
                class_id=sample[1])
            if len(sample) > 2:
                info.update(sample[2])
            data_list.append(info)
        self._metainfo['classes'] = tuple(
            str(class_names.get(cid, cid)) for cid in class_ids)
        self._metainfo['class_ids'] = tuple(class_ids)
        if self.verify_counts:
            self.check_full_size(len(data_list), len(class_ids))
        else:
            self.warn_if_partial(len(data_list), len(class_ids))
        return data_list

    def warn_if_partial(self, num_images: int, num_classes: int) -> None:
        """Warn when the split's counts are not the complete download's
        (``verify_counts=True`` makes it an error)."""
        expected = self.FULL_SIZE_EXPECTATIONS.get(self.split)
        if expected is None or (num_images, num_classes) == expected:
            return
        from mmengine.logging import print_log
        print_log(
            f'{self.DATASET_NAME} split {self.split!r}: {num_images:,} '
            f'images of {num_classes:,} classes, the complete download has '
            f'{expected[0]:,} of {expected[1]:,}; the download looks partial '
            'or modified, and results are not comparable with published '
            'ones (verify_counts=True makes this an error)',
            logger='current',
            level=logging.WARNING)

    def check_images_exist(self, paths: Sequence[str]) -> None:
        """Raise a layout error naming the first missing image, if any."""
        missing = find_missing_files(paths)
        if missing:
            more = (f' (and {len(missing) - 1} more of {len(paths)} images '
                    f'in split {self.split!r})') if len(missing) > 1 else ''
            raise self.layout_error(
                f'{self.missing_image_desc(missing[0])} not found'
                f'{more}; pass check_files=False to skip this check',
                missing[0])

    def missing_image_desc(self, path: str) -> str:
        """Where a missing image is listed, as the layout error names it:
        the annotation file (``annotation_desc`` where a reader has more
        than one)."""
        listed_in = getattr(self, 'annotation_desc', None) or \
            osp.basename(self.ann_file)
        return f'image listed in {listed_in}'

    def imdecode_backend(self) -> str:
        """The image backend of the pipeline's ``LoadImageFromFile``."""
        for t in getattr(self.pipeline, 'transforms', []):
            if hasattr(t, 'imdecode_backend'):
                return t.imdecode_backend
        return 'cv2'

    def check_images_decode(self, paths: Sequence[str]) -> None:
        """Decode every image; one layout error listing all bad ones."""
        bad = decode_problems(
            paths,
            self.imdecode_backend(),
            desc=f'{self.DATASET_NAME or type(self).__name__} split '
            f'{self.split!r}')
        if bad:
            listing = '; '.join(f'{p}: {why}' for p, why in bad[:20])
            more = f' (and {len(bad) - 20} more)' if len(bad) > 20 else ''
            raise self.layout_error(
                f'{len(bad)} of {len(paths)} images of split {self.split!r} '
                f'do not decode: {listing}{more}; re-extract them from the '
                'original archive', bad[0][0])

    def check_full_size(self, num_images: int, num_classes: int) -> None:
        """Compare the split's counts with the complete download's."""
        expected = self.FULL_SIZE_EXPECTATIONS.get(self.split)
        if expected is None:
            return
        exp_images, exp_classes = expected
        if (num_images, num_classes) != (exp_images, exp_classes):
            raise self.layout_error(
                f'split {self.split!r} has {num_images:,} images of '
                f'{num_classes:,} classes, the complete download has '
                f'{exp_images:,} images of {exp_classes:,} classes; the '
                'download looks incomplete or modified (verify_counts=True)',
                self.ann_file or self.data_root)

    def prepare_data(self, idx: int) -> Any:
        """Run the pipeline; an unreadable image gives one clear error.

        If the pipeline raises (or returns None in test mode) and the image
        cannot be decoded, a :class:`DatasetLayoutError` naming the image and
        the dataset is raised instead of the loader's own error. Failures
        unrelated to the image propagate unchanged.
        """
        data_info = self.get_data_info(idx)
        img_path = data_info.get('img_path')
        try:
            result = self.pipeline(data_info)
        except DatasetLayoutError:
            raise
        except Exception as err:
            problem = image_problem(
                img_path, self.imdecode_backend()) if img_path else None
            if problem is None:
                raise
            raise self.layout_error(
                f'{problem} while loading sample {idx} of split '
                f'{self.split!r} ({type(err).__name__}: {err}); re-extract '
                'it from the original archive', img_path) from None
        if result is None and self.test_mode and img_path:
            problem = image_problem(img_path, self.imdecode_backend())
            if problem is not None:
                raise self.layout_error(
                    f'{problem} while loading sample {idx} of split '
                    f'{self.split!r}; re-extract it from the original '
                    'archive', img_path)
        return result

    def get_gt_labels(self) -> np.ndarray:
        """All ``gt_label`` values as an int64 array (balanced sampler)."""
        return np.asarray(
            [self.get_data_info(i)['gt_label'] for i in range(len(self))],
            dtype=np.int64)

    def extra_repr(self) -> List[str]:
        """The extra repr information of the dataset."""
        return [
            f'Root of dataset: \t{self.data_root}',
            f'Split: \t{self.split}',
            f'Annotation file: \t{self.ann_file}',
        ]
