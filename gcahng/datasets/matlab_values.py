"""Values of MATLAB annotation files as ``scipy.io.loadmat`` gives them
(Cars196's ``cars_annos.mat``)."""
from typing import Any

import numpy as np


def mat_str(value: Any) -> str:
    """A string field of a MATLAB struct as loaded by ``scipy.io.loadmat``."""
    arr = np.asarray(value).ravel()
    if arr.size != 1:
        raise ValueError(f'expected one string, got {arr.size} values')
    item = arr[0]
    if isinstance(item, bytes):
        item = item.decode()
    if isinstance(item, np.ndarray):
        return mat_str(item)
    return str(item)


def mat_int(value: Any) -> int:
    """An integer field of a MATLAB struct as loaded by ``loadmat``."""
    arr = np.asarray(value).ravel()
    if arr.size != 1:
        raise ValueError(f'expected one number, got {arr.size} values')
    number = arr[0]
    if isinstance(number, np.ndarray):
        return mat_int(number)
    if float(number) != int(number):
        raise ValueError(f'expected an integer, got {number!r}')
    return int(number)
