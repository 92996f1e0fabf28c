"""GraphHealthHook warns once when the node accuracy stays at chance."""
from types import SimpleNamespace

import torch

from gcahng.engine.hooks import GraphHealthHook


class Logger:

    def __init__(self):
        self.warnings = []

    def warning(self, msg):
        self.warnings.append(msg)


def run_epoch(hook, runner, accs, batch=48):
    hook.before_train_epoch(runner)
    for acc in accs:
        hook.after_train_iter(runner, 0, dict(data_samples=[None] * batch),
                              dict(gce_acc=torch.tensor(acc)))
    hook.after_train_epoch(runner)
    runner.epoch += 1


def make_runner(num_classes=100):
    model = SimpleNamespace(
        graph_head=SimpleNamespace(num_classes=num_classes))
    return SimpleNamespace(model=model, epoch=0, logger=Logger())


def test_warns_once_at_chance_after_the_first_epoch():
    hook, runner = GraphHealthHook(), make_runner()
    run_epoch(hook, runner, [0.0, 0.02] * 20)  # the first epoch: no warning
    assert runner.logger.warnings == []
    run_epoch(hook, runner, [0.0, 0.02, 0.01] * 20)  # mean 0.01 = chance
    assert len(runner.logger.warnings) == 1
    assert 'at chance (1/100 = 0.010)' in runner.logger.warnings[0]
    run_epoch(hook, runner, [0.0] * 40)
    assert len(runner.logger.warnings) == 1  # once


def test_no_warning_above_chance_or_without_a_graph_head():
    hook, runner = GraphHealthHook(), make_runner()
    for _ in range(3):  # 0.03 over 40 x 48 nodes: 6 sd above chance
        run_epoch(hook, runner, [0.03] * 40)
    assert runner.logger.warnings == []
    hook, runner = GraphHealthHook(), make_runner()
    runner.model = SimpleNamespace()
    run_epoch(hook, runner, [0.0] * 4)
    run_epoch(hook, runner, [0.0] * 4)
    assert runner.logger.warnings == []


def test_reads_the_head_through_a_ddp_wrapper():
    """Under DDP the head is wrapped (one wrapper per sub-module, as
    MMSeparateDistributedDataParallel does): its classes are read from
    ``.module``."""
    hook, runner = GraphHealthHook(), make_runner()
    runner.model.graph_head = SimpleNamespace(
        module=SimpleNamespace(num_classes=100))
    run_epoch(hook, runner, [0.0] * 40)
    run_epoch(hook, runner, [0.0] * 40)
    assert len(runner.logger.warnings) == 1
    assert '1/100' in runner.logger.warnings[0]
