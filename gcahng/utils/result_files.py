"""Result files of the tools: JSON and CSV with numpy / torch values
converted (NaN and inf as null)."""
import csv
import json
import os
import os.path as osp
from typing import Any, Dict, Iterable, Optional, Sequence

import numpy as np
import torch


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, torch.Tensor):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def write_json(path: str, obj: Any) -> str:
    """Write ``obj`` (numpy/torch values converted, NaN as null)."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(_jsonable(obj), f, indent=2)
    return path


def write_csv(path: str,
              rows: Iterable[Dict[str, Any]],
              fieldnames: Optional[Sequence[str]] = None) -> str:
    """Write dict rows as CSV (columns: ``fieldnames`` or the first row's
    keys)."""
    rows = list(rows)
    if fieldnames is None:
        fieldnames = list(rows[0]) if rows else []
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=list(fieldnames))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _jsonable(v) for k, v in row.items()})
    return path


__all__ = ['write_json', 'write_csv']
