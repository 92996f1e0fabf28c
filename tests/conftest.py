import logging
import os
import sys

import pytest
import torch

# Test helpers (``helpers``, ``fixtures``) are imported as top-level modules.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
torch.set_num_threads(min(2, os.cpu_count() or 1))


def _managers(cls=None):
    """mmengine's named global instances (loggers, message hubs,
    visualizers ...): every ``ManagerMixin`` subclass."""
    from mmengine.utils import ManagerMixin
    for sub in (cls or ManagerMixin).__subclasses__():
        if '_instance_dict' in vars(sub):
            yield sub
        yield from _managers(sub)


@pytest.fixture(autouse=True)
def _drop_new_mmengine_instances():
    """Forget the loggers, visualizers and message hubs a test created.

    A Runner names them after its config file and the second it started;
    a later test's Runner of the same name and second would otherwise get
    the old instances back, writing into the earlier test's (deleted,
    setup.cfg) temporary folder.
    """
    import mmengine.visualization  # noqa: F401  (registers Visualizer)
    before = {cls: set(cls._instance_dict) for cls in _managers()}
    yield
    for cls in _managers():
        for name in set(cls._instance_dict) - before.get(cls, set()):
            instance = cls._instance_dict.pop(name)
            for handler in getattr(instance, 'handlers', [])[:]:
                if isinstance(handler, logging.FileHandler):
                    handler.close()
