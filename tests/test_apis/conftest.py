"""A tiny GCA-HNG model trained on the fixture JPEGs, for the API tests.

``configs/gcahng/r50_pa_csv.py`` shrunk for the CPU (ResNet-18, 32-d
embeddings, 32 px, one GCL layer of two heads), trained for one epoch on a
CSV dataset of ``tests/data/retrieval_images`` (4 train classes, 4
validation classes of 4 images), written once per session. The same
checkpoint is evaluated with a leave-one-out CSV and a query -> gallery CSV
of the same images.
"""
import os.path as osp

import pytest
import torch
from fixtures.retrieval_images import make_csv_dataset, tiny_csv_cfg
from mmengine.config import Config
from mmengine.runner import Runner

from gcahng.utils import OPTIONAL_PREFIXES


@pytest.fixture(scope='session')
def trained(tmp_path_factory) -> dict:
    """Config files (both protocols), data roots and the checkpoint."""
    base = tmp_path_factory.mktemp('apis')
    roots, configs = {}, {}
    for protocol in ('leave_one_out', 'query_gallery'):
        roots[protocol] = make_csv_dataset(
            str(base / protocol), protocol=protocol)
        cfg = tiny_csv_cfg(str(base / 'work'), roots[protocol], protocol)
        configs[protocol] = str(base / f'tiny_csv_{protocol}.py')
        cfg.dump(configs[protocol])
    cfg = Config.fromfile(configs['leave_one_out'])
    cfg.experiment_name = 'apis_tiny_train'
    Runner.from_cfg(cfg).train()
    ckpt = osp.join(str(base / 'work'), 'epoch_1.pth')
    state = torch.load(ckpt, map_location='cpu')['state_dict']
    inference = str(base / 'inference.pth')  # training-only parts dropped
    torch.save(
        dict(
            meta={},
            state_dict={
                k: v
                for k, v in state.items()
                if not k.startswith(OPTIONAL_PREFIXES)
            }), inference)
    return dict(
        base=base,
        roots=roots,
        configs=configs,
        ckpt=ckpt,
        inference_ckpt=inference,
        state=state)
