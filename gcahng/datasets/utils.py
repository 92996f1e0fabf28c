"""The former home of the dataset helpers, now split by concern:

- :mod:`.layout_errors`: :class:`DatasetLayoutError`,
  :class:`MalformedAnnotationError` and their message
  (:func:`format_layout_message`);
- :mod:`.dataset_files`: :func:`is_macos_junk`, :func:`find_missing_files`;
- :mod:`.image_checks`: :func:`image_problem`, :func:`decode_problems`;
- :mod:`.matlab_values`: :func:`mat_str`, :func:`mat_int`;
- :mod:`.dml_base_dataset`: :class:`DMLBaseDataset` (label space, checks).

The names stay importable from here.
"""
from .dataset_files import find_missing_files, is_macos_junk
from .dml_base_dataset import DMLBaseDataset
from .image_checks import decode_problems, image_problem
from .layout_errors import (DatasetLayoutError, MalformedAnnotationError,
                            format_layout_message)
from .matlab_values import mat_int, mat_str

__all__ = [
    'DMLBaseDataset', 'DatasetLayoutError', 'MalformedAnnotationError',
    'decode_problems', 'find_missing_files', 'format_layout_message',
    'image_problem', 'is_macos_junk', 'mat_int', 'mat_str'
]
