"""Training and inference speed of GCA-HNG against its baseline (Table 7).

``python tools/analysis_tools/benchmark_speed.py CONFIG [OPTIONS]``

A pointer to ``benchmarks/train_step.py``, the one front end of the timing
core (same options and output, see its docstring), that writes
``speed.csv``, ``speed.json`` and ``speed.md`` to
``work_dirs/benchmark_speed/<config name>`` unless ``--out-dir`` says
otherwise.
"""
import importlib.util
import os.path as osp
from types import ModuleType
from typing import Optional, Sequence

FRONT_END = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'benchmarks',
    'train_step.py')


def front_end() -> ModuleType:
    """``benchmarks/train_step.py`` as a module (``benchmarks`` is no
    package)."""
    spec = importlib.util.spec_from_file_location('bench_train_step',
                                                  FRONT_END)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Run the benchmark; returns what ``speed.json`` holds."""
    return front_end().main(argv, default_out_dir=True)


if __name__ == '__main__':
    main()
