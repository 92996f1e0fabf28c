"""The paper's numbers live in ``configs/*/metafile.yml`` only: every entry
names a config that exists and fits its setting, every paper-row config has
an entry, and ``collect_results`` reads them (also as one table)."""
import glob
import os.path as osp

import pytest
import yaml
from helpers import REPO, load_tool

COLLECT = load_tool('analysis_tools/collect_results.py')
METAFILES = sorted(glob.glob(osp.join(REPO, 'configs', '*', 'metafile.yml')))


def models(path):
    with open(path) as f:
        return yaml.safe_load(f)['Models']


def test_the_reader_reads_every_metafile():
    assert sorted(osp.join(REPO, p) for p in COLLECT.METAFILES) == METAFILES
    entries = COLLECT.paper_results()
    assert len(entries) == sum(len(models(p)) for p in METAFILES)


@pytest.mark.parametrize('path', METAFILES, ids=lambda p: osp.relpath(p, REPO))
def test_every_entry_names_an_existing_config_of_its_setting(path):
    names = [m['Name'] for m in models(path)]
    assert len(names) == len(set(names))
    for entry in COLLECT.read_metafile(path):
        config = entry['config']
        assert osp.isfile(osp.join(REPO, config)), entry['name']
        assert osp.dirname(config) == osp.relpath(osp.dirname(path), REPO)
        parsed = COLLECT.parse_config_name(config)
        assert parsed is not None, config  # a paper setting's name
        method, arch, loss, dataset = parsed
        assert entry['method'] == method
        assert entry['setting'] == f'{arch} {loss}', config
        assert entry['dataset'] == COLLECT.DATASETS[dataset], config
        wanted = {'R@1', 'RP', 'M@R'} if method == 'gcahng' else {'R@1'}
        assert set(entry['metrics']) == wanted, config
        assert all(0 < v < 100 for v in entry['metrics'].values()), config


def test_every_paper_row_config_has_an_entry():
    configs = sorted(glob.glob(osp.join(REPO, 'configs', 'gcahng', '*.py')))
    rows = [c for c in configs if COLLECT.parse_config_name(c)]
    assert len(rows) == 28  # 7 rows of the paper's Tables 1-2 x 4 datasets
    listed = {e['config'] for e in COLLECT.paper_results().values()}
    for config in rows:
        assert osp.relpath(config, REPO) in listed, config
    # the baselines the paper reports: R512 NP+ and R512 PA
    for loss in ('npplus', 'pa'):
        for dataset in COLLECT.DATASETS:
            config = f'configs/baselines/r50_{loss}_{dataset}.py'
            assert config in listed, config


def test_paper_table_is_rendered_from_the_metafiles(tmp_path):
    result = COLLECT.main(['--paper-table', '--out-dir', str(tmp_path)])
    table = open(tmp_path / 'paper.md').read()
    assert table == result['table']
    lines = [line for line in table.splitlines() if line.startswith('| ')]
    assert len(lines) == 1 + 7 + 2  # header, GCA-HNG rows, baseline rows
    r50_pa = next(line for line in lines if '`gcahng/r50_pa_*.py`' in line)
    assert '| 72.3 / 40.7 / 30.1 |' in r50_pa
    assert '| 93.6 / 71.9 / 69.5 |' in r50_pa
    base = next(line for line in lines if '`baselines/r50_pa_*.py`' in line)
    assert base.endswith('| 68.5 | 88.4 | 80.6 | 92.2 |')
    with pytest.raises(SystemExit):
        COLLECT.parse_args([])  # neither work dirs nor --paper-table


def test_malformed_metafiles_are_named(tmp_path):
    bad = tmp_path / 'metafile.yml'
    bad.write_text('Models:\n  - Name: x\n    Config: configs/gcahng/'
                   'r50_pa_cub.py\n    Metadata: {Setting: R512 PA}\n'
                   '    Results:\n      - Dataset: Cars196\n'
                   '        Metrics: {R@1: high}\n')
    with pytest.raises(ValueError, match="model 'x': metric R@1"):
        COLLECT.read_metafile(str(bad))
    bad.write_text('Models:\n  - Name: x\n    Config: configs/ablations/'
                   'a.py\n    Metadata: {Setting: R512 PA}\n')
    with pytest.raises(ValueError, match='neither configs/gcahng/'):
        COLLECT.read_metafile(str(bad))
    twice = str(tmp_path / 'twice.yml')
    with open(osp.join(REPO, COLLECT.METAFILES[1])) as f:
        open(twice, 'w').write(f.read())
    with pytest.raises(ValueError, match='a second entry'):
        COLLECT.paper_results((COLLECT.METAFILES[1], twice))
