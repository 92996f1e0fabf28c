import gc
import os

import torch
import torch.distributed as dist
from mmengine.config import Config


def setup_cpu_distributed(cfg: Config) -> bool:
    """Prepare a ``--launcher pytorch`` run on a machine without CUDA.

    MMEngine assumes GPUs for DDP: its ``init_dist`` calls
    ``torch.cuda.set_device`` and its Runner gives the model wrapper
    ``device_ids=[LOCAL_RANK]``. Without a CUDA device (CI's DDP test,
    debugging on a laptop) this starts the process group with the gloo
    backend from torchrun's environment, which the Runner then finds and
    uses, and sets ``device_ids=None`` in ``cfg.model_wrapper_cfg`` so that
    DDP wraps CPU modules. Returns whether it did anything.
    """
    if (cfg.get('launcher', 'none') != 'pytorch' or torch.cuda.is_available()):
        return False
    if not dist.is_initialized():
        dist.init_process_group(
            backend='gloo',
            rank=int(os.environ['RANK']),
            world_size=int(os.environ['WORLD_SIZE']))
    wrapper = cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel')
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    return True


def teardown_distributed() -> None:
    """End a distributed run cleanly: wait for every rank, then destroy the
    process group.

    Without it the default group lives until interpreter finalisation, where
    gloo's worker threads can still hold work objects; destroying them then
    aborts the process (``terminate called without an active exception``,
    SIGABRT) after the run has finished, and torchrun reports a failure.
    Call it after a successful ``runner.train()`` / ``runner.test()`` only:
    after an error on one rank, a barrier would wait for the others. Drop
    the Runner first (``del runner``): its DDP wrapper holds the group and
    gloo's work objects, which are then freed here, by ``gc.collect()``,
    while Python is fully alive, not at interpreter exit.
    """
    if not (dist.is_available() and dist.is_initialized()):
        return
    gc.collect()
    dist.barrier()
    dist.destroy_process_group()
