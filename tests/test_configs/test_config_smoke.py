"""Every leaf config builds and runs one training iteration and one
validation step on fixture data (DEVELOPERS.md: no config untested).

Configs of the four benchmarks run on miniatures of their original layouts
(``tests/fixtures/dml_layouts.py``) with the images, the batch and the
number of classes shrunk and the pretrained weights off; the built-in
dataset's configs run on a tiny version of it.
"""
import glob
import os
import os.path as osp
import subprocess
import sys

import pytest
from fixtures.dml_layouts import make_cars196, make_cub, make_inshop, make_sop
from fixtures.retrieval_images import make_csv_dataset
from helpers import (REPO, TINY_224_RUN_OPTIONS, tiny_fixture_cfg,
                     tiny_synthetic_cfg)
from mmengine.config import Config
from mmengine.runner import Runner

from gcahng.utils import check_config

LEAF_CONFIGS = sorted(
    osp.relpath(p, osp.join(REPO, 'configs')) for p in glob.glob(
        osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
    if '_base_' not in p)

#: The paper grid (docs/settings.md): 3 backbones x {NP+, PA} x 4 datasets,
#: plus the original N-pair on GoogLeNet.
PAPER_GRID = [
    f'{arch}_{loss}_{ds}.py'
    for arch, losses in (('googlenet', ('np', 'npplus',
                                        'pa')), ('r50', ('npplus', 'pa')),
                         ('dino-s16', ('npplus', 'pa'))) for loss in losses
    for ds in ('cub', 'cars196', 'sop', 'inshop')
]


@pytest.fixture(scope='module')
def fixture_roots(tmp_path_factory) -> dict:
    """Miniatures of the four benchmarks, keyed by dataset type."""
    root = str(tmp_path_factory.mktemp('dml'))
    return dict(
        CUB=make_cub(root),
        IconThemes=make_cub(osp.join(root, 'icons')),
        Widelands=make_cub(osp.join(root, 'widelands')),
        Cars196=make_cars196(root),
        SOP=make_sop(root),
        InShop=make_inshop(root),
        CSVRetrievalDataset=make_csv_dataset(
            osp.join(root, 'csv'), num_train=3, num_val=3))


def test_configs_are_found():
    assert 'gcahng/r18_pa_synthetic.py' in LEAF_CONFIGS
    assert 'baselines/r18_pa_synthetic.py' in LEAF_CONFIGS
    for name in PAPER_GRID:
        assert f'gcahng/{name}' in LEAF_CONFIGS
        assert f'baselines/{name}' in LEAF_CONFIGS
    assert len(PAPER_GRID) == 28
    assert sum(rel.startswith('ablations/') for rel in LEAF_CONFIGS) >= 20


@pytest.mark.parametrize('rel', LEAF_CONFIGS)
def test_config_runs_one_iteration(rel, tmp_path, fixture_roots):
    full = Config.fromfile(osp.join(REPO, 'configs', rel))
    check_config(full)  # the tools' check accepts every config we ship
    dataset = full.train_dataloader.dataset.type
    if dataset == 'SyntheticFineGrained':
        cfg = tiny_synthetic_cfg(rel, str(tmp_path), per_class=2)
    else:
        cfg = tiny_fixture_cfg(rel, str(tmp_path), fixture_roots)
    cfg.train_cfg = dict(by_epoch=False, max_iters=1, val_interval=1)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1)
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = runner.val_loop.run()
    assert 0.0 <= metrics['retrieval/R@1'] <= 100.0


def test_passed_config_runs_leave_no_checkpoints(tmp_path):
    """A passed one-iteration run deletes its work folder: with ~120
    configs of ~270 MB checkpoints each, the suite must not keep them
    (setup.cfg: ``tmp_path_retention_policy``; CI once ran out of disk)."""
    base = tmp_path / 'basetemp'
    test = ('tests/test_configs/test_config_smoke.py::'
            'test_config_runs_one_iteration[gcahng/r18_pa_synthetic.py]')
    proc = subprocess.run(
        [sys.executable, '-m', 'pytest', '-q', f'--basetemp={base}', test],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert '1 passed' in proc.stdout
    left = glob.glob(str(base / '**' / '*.pth'), recursive=True)
    assert not left, left


def test_paper_settings_reach_the_model():
    """Spot checks of docs/settings.md values in the merged leaf configs."""
    cfg = Config.fromfile(osp.join(REPO, 'configs/gcahng/r50_pa_sop.py'))
    assert cfg.model.type == 'GCAHNG'
    assert cfg.model.graph_head.num_layers == 1
    assert cfg.model.graph_head.num_heads == 2
    assert cfg.model.graph_head.num_classes == 11318
    assert cfg.model.loss_metric.num_classes == 11318
    assert cfg.model.loss_metric.embed_dim == 512
    assert cfg.model.loss_div.loss_weight == pytest.approx(0.2)
    assert cfg.model.frozen_bn2d is False
    assert cfg.optim_wrapper.metric.optimizer.lr == 2e-4
    assert cfg.train_dataloader.sampler.num_classes_per_batch == 40
    assert cfg.val_evaluator.topk == (1, 10, 100, 1000)
    cfg = Config.fromfile(
        osp.join(REPO, 'configs/gcahng/googlenet_npplus_cub.py'))
    assert cfg.model.loss_div.loss_weight == pytest.approx(0.1)
    assert cfg.model.hardness_alpha == 4.0
    assert cfg.model.balance_beta == 30.0
    assert cfg.custom_hooks[0] == dict(
        type='BackboneWarmupHook', warmup_epochs=1)
    assert 'T_max' not in cfg.param_scheduler.graph[0]  # follows the run
    cfg = Config.fromfile(osp.join(REPO, 'configs/gcahng/googlenet_np_cub.py'))
    assert cfg.train_dataloader.batch_size == 80
    assert cfg.train_dataloader.sampler.num_samples_per_class == 2
    cfg = Config.fromfile(osp.join(REPO, 'configs/gcahng/dino-s16_pa_cub.py'))
    assert cfg.model.neck.in_channels == cfg.model.neck.out_channels == 384
    assert cfg.model.graph_head.embed_dim == 384
    cfg = Config.fromfile(osp.join(REPO, 'configs/gcahng/r50_pa_inshop.py'))
    assert cfg.val_evaluator.mode == 'query_gallery'
    assert 'is_query' in cfg.val_dataloader.dataset.pipeline[-1].meta_keys


def _flatten(d, prefix=''):
    out = {}
    for k, v in d.items():
        key = f'{prefix}{k}'
        if isinstance(v, dict):
            out.update(_flatten(v, key + '.'))
        else:
            out[key] = v
    return out


def test_swapping_the_backbone_base(tmp_path):
    """Copies of the R50 Cars196 configs (the NP+ row and its PA variant)
    with the DINO model base differ only in the backbone, the neck and the
    embedding width that follows from it."""
    src = osp.join(REPO, 'configs/gcahng/r50_npplus_cars196.py')
    text = open(src).read()
    assert '_base_/models/r50_gcahng.py' in text
    pa_src = osp.join(REPO, 'configs/gcahng/r50_pa_cars196.py')
    pa_text = open(pa_src).read()
    assert "'./r50_npplus_cars196.py'" in pa_text
    # the copies sit next to a link to configs/_base_, as they would in
    # configs/
    (tmp_path / 'configs' / 'gcahng').mkdir(parents=True)
    os.symlink(
        osp.join(REPO, 'configs', '_base_'), tmp_path / 'configs' / '_base_')
    folder = tmp_path / 'configs' / 'gcahng'
    (folder / 'dino_npplus_copy.py').write_text(
        text.replace('_base_/models/r50_gcahng.py',
                     '_base_/models/dino-s16_gcahng.py'))
    copy = folder / 'dino_pa_copy.py'
    copy.write_text(
        pa_text.replace("'./r50_npplus_cars196.py'",
                        "'./dino_npplus_copy.py'"))
    r50 = _flatten(Config.fromfile(pa_src).to_dict())
    dino = _flatten(Config.fromfile(str(copy)).to_dict())
    changed = {k for k in set(r50) | set(dino) if r50.get(k) != dino.get(k)}
    assert changed, 'the swap changed nothing'
    allowed = ('model.backbone.', 'model.neck.')
    tied = {
        'embed_dim', 'model.graph_head.embed_dim',
        'model.loss_metric.embed_dim'
    }
    assert {k for k in changed if not k.startswith(allowed)} <= tied
    assert dino['model.neck.out_channels'] == dino['embed_dim'] == 384
    assert dino['model.graph_head.embed_dim'] == 384
    assert dino['model.loss_metric.embed_dim'] == 384


def test_train_script_on_the_cars196_fixture(tmp_path, fixture_roots):
    """`tools/train.py configs/gcahng/r50_pa_cars196.py` with the Cars196
    fixture as data root starts, trains and evaluates."""
    root = fixture_roots['Cars196']
    work = tmp_path / 'work'
    options = [
        f'{key}.dataset.data_root={root}'
        for key in ('train_dataloader', 'val_dataloader', 'test_dataloader')
    ] + [
        'model.loss_metric.num_classes=3',
        'model.graph_head.num_classes=3',
    ] + TINY_224_RUN_OPTIONS
    proc = subprocess.run(
        [
            sys.executable,
            osp.join(REPO, 'tools/train.py'),
            osp.join(REPO, 'configs/gcahng/r50_pa_cars196.py'), '--work-dir',
            str(work), '--cfg-options'
        ] + options,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    log = proc.stdout + proc.stderr
    assert 'Epoch(train) [1]' in log
    assert 'retrieval/R@1' in log
    assert osp.exists(work / 'epoch_1.pth')


def test_configs_readme_lists_every_config():
    """configs/gcahng/README.md names every paper and ablation config (and
    every memory-graph config by its path)."""
    text = open(osp.join(REPO, 'configs/gcahng/README.md')).read()
    for rel in LEAF_CONFIGS:
        folder, name = rel.split('/')
        if folder == 'ablations':
            assert f'`{name}`' in text, rel
        elif folder == 'gcahng_memory':
            assert f'`{rel}`' in text, rel
        elif 'icons' in name or 'widelands' in name:  # real-data benchmarks
            assert f'`{name}`' in text, rel
        elif 'synthetic' not in name:
            stem = name.rsplit('_', 1)[0]
            assert f'`{stem}_{{cub,cars196,sop,inshop}}.py`' in text, rel
