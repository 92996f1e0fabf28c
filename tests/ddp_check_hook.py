"""A hook for the DDP test: after training, every rank writes a checksum
of its model parameters, so the test can check that the ranks agree."""
import json
import os.path as osp

import torch
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class ParamChecksumHook(Hook):

    def after_train(self, runner) -> None:
        model = runner.model.module if hasattr(runner.model,
                                               'module') else runner.model
        sums = {
            name: float(p.detach().double().sum())
            for name, p in model.named_parameters()
        }
        with open(
                osp.join(runner.work_dir, f'params_rank{runner.rank}.json'),
                'w') as f:
            json.dump(dict(world_size=runner.world_size, sums=sums), f)
        torch.distributed.barrier() if runner.world_size > 1 else None
