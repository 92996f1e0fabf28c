"""Pytest fixtures: read-only miniatures of the four DML benchmarks.

Session-scoped (built once); tests that damage a layout build their own with
the plain functions of ``fixtures.dml_layouts`` under ``tmp_path``.
"""
import types

import mmengine.dataset.base_dataset as mmengine_base_dataset
import pytest
from fixtures.dml_layouts import make_cars196, make_cub, make_inshop, make_sop


@pytest.fixture(scope='session')
def cub_root(tmp_path_factory) -> str:
    return make_cub(str(tmp_path_factory.mktemp('cub')))


@pytest.fixture(scope='session', params=['annos_mat', 'devkit'])
def cars_root(request, tmp_path_factory) -> str:
    return make_cars196(
        str(tmp_path_factory.mktemp(f'cars_{request.param}')),
        layout=request.param)


@pytest.fixture(scope='session')
def sop_root(tmp_path_factory) -> str:
    return make_sop(str(tmp_path_factory.mktemp('sop')))


@pytest.fixture(scope='session')
def inshop_root(tmp_path_factory) -> str:
    return make_inshop(str(tmp_path_factory.mktemp('inshop')))


@pytest.fixture(autouse=True)
def _skip_full_gc_when_serializing(monkeypatch):
    """Skip the ``gc.collect()`` of mmengine's ``_serialize_data``.

    With torch loaded it costs ~0.5 s per dataset built, i.e. most of the
    run time of these tests; it only matters for reference cycles, which the
    data lists do not have. Patched in mmengine's module only, restored
    after each test.
    """
    monkeypatch.setattr(mmengine_base_dataset, 'gc',
                        types.SimpleNamespace(collect=lambda *args: 0))
