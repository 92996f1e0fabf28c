"""2-process DDP on CPU (gloo) through tools/dist_train.sh and
tools/dist_test.sh, on the built-in dataset."""
import gc
import json
import os.path as osp
import sys

import pytest
from helpers import free_port, run, tiny_synthetic_cfg


@pytest.mark.parametrize('generator', ['CACAIGenerator', 'HDMLGenerator'])
def test_two_process_ddp_train_and_test(generator, tmp_path):
    work = str(tmp_path / 'work')
    cfg = tiny_synthetic_cfg(
        'gcahng/r18_pa_synthetic.py',
        work,
        max_epochs=2,
        train_classes=4,
        per_class=8)
    cfg.model.graph_head.update(num_layers=1, num_heads=2)
    if generator == 'HDMLGenerator':  # a generator with parameters (DDP)
        cfg.model.generator = dict(
            type=generator, embed_dim=cfg.model.graph_head.embed_dim)
        cfg.optim_wrapper.graph.modules = ('graph_head', 'generator')
        cfg.model.memory = None  # HDML makes no negatives from memory
    cfg.custom_imports = dict(imports=['ddp_check_hook'])
    cfg.custom_hooks = list(
        cfg.custom_hooks) + [dict(type='ParamChecksumHook')]
    cfg.val_dataloader.batch_size = 5  # uneven split over the 2 ranks
    cfg_file = str(tmp_path / 'cfg.py')
    cfg.dump(cfg_file)

    run(['bash', 'tools/dist_train.sh', cfg_file, '2'], PORT=str(free_port()))
    ranks = [
        json.load(open(osp.join(work, f'params_rank{r}.json'))) for r in (0, 1)
    ]
    assert ranks[0]['world_size'] == 2
    assert ranks[0]['sums'].keys() == ranks[1]['sums'].keys()
    for name, value in ranks[0]['sums'].items():
        assert value == pytest.approx(ranks[1]['sums'][name], abs=1e-6), name

    ckpt = osp.join(work, 'epoch_2.pth')
    ddp_out, single_out = str(tmp_path / 'ddp.json'), str(tmp_path / 's.json')
    run(['bash', 'tools/dist_test.sh', cfg_file, ckpt, '2', '--out', ddp_out],
        PORT=str(free_port()))
    run([sys.executable, 'tools/test.py', cfg_file, ckpt, '--out', single_out])
    ddp, single = json.load(open(ddp_out)), json.load(open(single_out))
    assert ddp['retrieval/num_queries'] == single['retrieval/num_queries']
    for key, value in single.items():
        assert ddp[key] == pytest.approx(value, abs=1e-6), key


@pytest.mark.parametrize('tool', ['train.py', 'test.py'])
def test_tools_destroy_the_process_group(tool, tmp_path, monkeypatch):
    """A ``--launcher pytorch`` run ends with the process group destroyed.

    Left alive, gloo's threads are torn down at interpreter exit, which
    sometimes aborts a finished run (SIGABRT, ``terminate called without an
    active exception``) and makes torchrun report a failure."""
    import torch.distributed as dist
    from helpers import load_tool

    work = str(tmp_path / 'work')
    cfg = tiny_synthetic_cfg('baselines/r18_pa_synthetic.py', work)
    cfg_file = str(tmp_path / 'cfg.py')
    cfg.dump(cfg_file)
    argv = [cfg_file, '--launcher', 'pytorch', '--work-dir', work]
    if tool == 'test.py':
        run([sys.executable, 'tools/train.py', cfg_file])
        argv.insert(1, osp.join(work, 'epoch_1.pth'))
    for key, value in dict(
            RANK='0',
            LOCAL_RANK='0',
            WORLD_SIZE='1',
            MASTER_ADDR='127.0.0.1',
            MASTER_PORT=str(free_port())).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(sys, 'argv', [tool] + argv)
    from mmengine.model import MMDistributedDataParallel
    live_at_destroy = []
    destroy = dist.destroy_process_group

    def checked_destroy(*args, **kwargs):
        # the tool has dropped its DDP model (and with it gloo's work
        # objects) before the group goes, not left it to interpreter exit
        live_at_destroy.extend(o for o in gc.get_objects()
                               if isinstance(o, MMDistributedDataParallel))
        destroy(*args, **kwargs)

    monkeypatch.setattr(dist, 'destroy_process_group', checked_destroy)
    try:
        load_tool(tool).main()
        assert not dist.is_initialized()
        assert live_at_destroy == []
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
