"""Files of a dataset on disk: which to skip (macOS archive artefacts)
and which are missing, fast on benchmark-size lists."""
import os
import os.path as osp
from typing import Dict, Iterable, List


def is_macos_junk(path: str) -> bool:
    """Whether ``path`` is a macOS archive artefact to be skipped.

    True for AppleDouble files (``._name``) and anything under a
    ``__MACOSX`` folder, which zip archives made on macOS carry along.
    """
    parts = path.replace('\\', '/').split('/')
    return '__MACOSX' in parts or parts[-1].startswith('._')


def find_missing_files(paths: Iterable[str]) -> List[str]:
    """Return the paths in ``paths`` that are not existing files.

    Fast on benchmark-size lists (SOP's 120k images): every directory is
    listed once with :func:`os.scandir` instead of one ``stat`` per file.
    Order of ``paths`` is kept in the result.
    """
    paths = list(paths)
    pairs = [osp.split(path) for path in paths]
    existing: Dict[str, set] = {}
    for directory in {d for d, _ in pairs}:
        names = set()
        try:
            with os.scandir(directory or '.') as it:
                for entry in it:
                    try:
                        if entry.is_file():
                            names.add(entry.name)
                    except OSError:
                        continue
        except OSError:
            pass
        existing[directory] = names
    return [
        path for path, (directory, name) in zip(paths, pairs)
        if name not in existing[directory]
    ]
