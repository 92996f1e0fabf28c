"""The errors of a dataset on disk that does not match its layout
(docs/datasets.md): one message that names the file, shows the expected
layout and says where the dataset comes from."""
import textwrap
from typing import Optional

from gcahng.utils.cli import UserError


class DatasetLayoutError(UserError, FileNotFoundError):
    """A DML benchmark on disk does not match its original layout.

    Raised for a missing ``data_root``, a missing annotation file, an
    annotation naming an image that does not exist, an unreadable image, a
    split without images and (with ``verify_counts=True``) an incomplete
    download. The message names the file, the expected layout and the
    download source. It takes a single message argument so that it survives
    the trip from a dataloader worker to the main process.
    """


class MalformedAnnotationError(DatasetLayoutError, ValueError):
    """An annotation file exists but cannot be parsed (names file and line).

    Also a :class:`ValueError`, as it is about content, not a missing file.
    """


def format_layout_message(name: str,
                          problem: str,
                          path: Optional[str],
                          layout: str,
                          source: str,
                          intro: Optional[str] = None,
                          source_label: str = 'Download') -> str:
    """Compose the message of a :class:`DatasetLayoutError`.

    Args:
        name (str): Dataset name, e.g. ``'CUB-200-2011'``.
        problem (str): What is wrong, e.g. ``'annotation file not found'``.
        path (str, optional): The offending file or folder.
        layout (str): The expected layout (the reader's ``LAYOUT``).
        source (str): Where the dataset comes from (the reader's ``SOURCE``).
        intro (str, optional): The line before the layout; defaults to the
            benchmarks' "Expected the original ... download".
        source_label (str): What ``source`` is. Defaults to ``'Download'``.
    """
    head = f'{name}: {problem}'
    if path is not None:
        head += f': {path}'
    if intro is None:
        intro = (f'Expected the original {name} download, unpacked in place '
                 '(data_root is the top folder below):')
    return (f'{head}\n{intro}\n'
            f'{textwrap.indent(layout.strip(), "    ")}\n'
            f'{source_label}: {source}\n'
            'See data/README.md for details.')
