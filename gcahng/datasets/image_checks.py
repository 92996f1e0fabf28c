"""Whether image files decode the way the data pipeline decodes them."""
import os
import os.path as osp
from typing import List, Optional, Sequence, Tuple


def image_problem(path: str, backend: str = 'cv2') -> Optional[str]:
    """Why ``path`` cannot be decoded as an image, or None if it can.

    Decodes the file the way the pipeline's ``LoadImageFromFile`` does
    (``mmcv.imfrombytes`` with its ``imdecode_backend``), so a JPEG
    truncated past its header, which ``cv2.imread`` still half-decodes but
    the pipeline refuses, is reported here too.
    """
    if not osp.isfile(path):
        return 'image file not found'
    if osp.getsize(path) == 0:
        return 'image file is empty'
    import mmcv
    with open(path, 'rb') as f:
        data = f.read()
    try:
        img = mmcv.imfrombytes(data, flag='color', backend=backend)
    except Exception as err:
        return f'image cannot be decoded ({type(err).__name__}: {err})'
    if img is None:
        return 'image cannot be decoded (corrupt, truncated or not an image)'
    return None


def decode_problems(paths: Sequence[str],
                    backend: str = 'cv2',
                    workers: Optional[int] = None,
                    desc: str = 'decoding images') -> List[Tuple[str, str]]:
    """``(path, problem)`` for every image of ``paths`` that does not
    decode, checked in parallel threads with a progress bar."""
    from concurrent.futures import ThreadPoolExecutor

    from mmengine.logging import print_log
    from mmengine.utils import ProgressBar
    workers = workers or min(8, os.cpu_count() or 1)
    print_log(f'{desc}: {len(paths)} images', logger='current')
    bar = ProgressBar(len(paths))
    bad = []
    with ThreadPoolExecutor(workers) as pool:
        for path, problem in zip(
                paths, pool.map(lambda p: image_problem(p, backend), paths)):
            bar.update()
            if problem is not None:
                bad.append((path, problem))
    print()
    return bad
