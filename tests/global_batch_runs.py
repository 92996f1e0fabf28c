"""Several tiny training runs in one (possibly torchrun-started) process,
for the global-batch tests:
``python tests/global_batch_runs.py RUNS.json [--float64]``.

``RUNS.json`` is a list of ``{"config": FILE, "args": [train.py args]}``
(optionally ``"stop_after_epoch": E``: the run stops after epoch ``E``, as
an interrupted run would, its checkpoint saved).
Each run merges the command line into the config as ``tools/train.py``
does (``merge_args``: work dir, launcher; ``setup_cpu_distributed``: gloo on
CPU) and then builds MMEngine's Runner by hand from that config
(``Runner.from_cfg``, as a user's own training script would): the global
batch must come from the config alone (docs/algorithm.md §9). Every rank
then writes ``result_rank<r>.pt`` into the
run's work dir: the log variables of every iteration, the model's state
dict (DDP wrappers' ``module.`` removed) and the world size. One process
group serves all runs (started once, destroyed at the end), which keeps the
tests fast. ``--float64`` builds the models in double precision and feeds
them double images, so that the comparisons are not limited by float32
rounding (a conv over 10 images and over 18 need not round alike).
"""
import json
import os.path as osp
import re
import sys

import torch
from helpers import LossRecorder, load_tool
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

from gcahng.utils import setup_cpu_distributed, teardown_distributed


class StopAfterEpoch(Hook):
    """Ends training after epoch ``epoch`` (after the checkpoint)."""
    priority = 'LOWEST'

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def after_train_epoch(self, runner) -> None:
        if runner.epoch + 1 >= self.epoch:
            runner.train_loop.stop_training = True


def plain_state(model: torch.nn.Module) -> dict:
    """The state dict without DDP's ``module.`` segments."""
    if is_model_wrapper(model):
        model = model.module
    return {
        re.sub(r'(^|\.)module\.', r'\1', k): v.detach().clone()
        for k, v in model.state_dict().items()
    }


def double_inputs(model: torch.nn.Module) -> None:
    """Make the model's data preprocessor return double images."""
    if is_model_wrapper(model):
        model = model.module
    preprocessor = model.data_preprocessor
    forward = preprocessor.forward

    def forward_double(data, training=False):
        data = forward(data, training)
        data['inputs'] = data['inputs'].double()
        return data

    preprocessor.forward = forward_double


def main(spec: str, float64: bool = False) -> None:
    train = load_tool('train.py')
    if float64:
        torch.set_default_dtype(torch.float64)
    for run in json.load(open(spec)):
        sys.argv = ['train.py', run['config']] + list(run.get('args', []))
        args = train.parse_args()
        cfg = train.merge_args(Config.fromfile(run['config']), args)
        setup_cpu_distributed(cfg)
        runner = Runner.from_cfg(cfg)
        if float64:
            double_inputs(runner.model)
        recorder = LossRecorder()
        runner.register_hook(recorder)
        if run.get('stop_after_epoch'):
            runner.register_hook(StopAfterEpoch(run['stop_after_epoch']))
        runner.train()
        torch.save(
            dict(
                losses=recorder.records,
                state=plain_state(runner.model),
                world_size=runner.world_size),
            osp.join(cfg.work_dir, f'result_rank{runner.rank}.pt'))
        del runner  # before the process group goes (teardown_distributed)
    teardown_distributed()


if __name__ == '__main__':
    main(sys.argv[1], float64='--float64' in sys.argv[2:])
