"""The sandbox after ``make demo`` (``fixtures/demo_sandbox.py``): the
process tests of the tools and the README's "Use a trained model"
commands start from its checkpoint."""
import os.path as osp

import pytest
from fixtures.demo_sandbox import (DEMO_TEST_OPTIONS, DEMO_TRAIN_OPTIONS,
                                   make_sandbox, makefile_demo, run_in,
                                   with_options)
from helpers import REPO


@pytest.fixture(scope='session')
def demo(tmp_path_factory) -> dict:
    """The sandbox after ``make demo`` (one iteration): its path, the
    demo's config, work dir, checkpoint (absolute) and the processes of
    the recipe's commands."""
    sandbox = make_sandbox(str(tmp_path_factory.mktemp('demo') / 'repo'))
    recipe = makefile_demo()
    procs = []
    for command in recipe['commands']:
        if 'tools/train.py' in command:
            command = with_options(command, DEMO_TRAIN_OPTIONS)
        elif 'tools/test.py' in command:
            command = with_options(command, DEMO_TEST_OPTIONS)
        procs.append(run_in(sandbox, command))
        assert procs[-1].returncode == 0, procs[-1].stderr[-3000:]
    work_dir = osp.join(sandbox, recipe['work_dir'])
    checkpoint = open(osp.join(work_dir, 'last_checkpoint')).read().strip()
    return dict(
        sandbox=sandbox,
        config=osp.join(REPO, recipe['config']),
        work_dir=work_dir,
        checkpoint=osp.join(sandbox, checkpoint),
        dumped_config=osp.join(work_dir, osp.basename(recipe['config'])),
        commands=recipe['commands'],
        procs=procs)
