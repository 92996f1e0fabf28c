"""README's result tables agree with the results files they report
(tools/analysis_tools/readme_tables.py)."""
import json

import pytest
from helpers import load_tool

TOOL = load_tool('analysis_tools/readme_tables.py')

#: Two seeds; GCA-HNG gains 3 and 1 R@1 points over the baseline.
BASELINE = {
    '0': {
        'R@1': 50.0,
        'RP': 20.0,
        'M@R': 10.0
    },
    '1': {
        'R@1': 52.0,
        'RP': 21.0,
        'M@R': 11.0
    },
}
GCAHNG = {
    '0': {
        'R@1': 53.0,
        'RP': 22.0,
        'M@R': 12.0,
        'gce_acc': 0.5
    },
    '1': {
        'R@1': 53.0,
        'RP': 22.0,
        'M@R': 12.0,
        'gce_acc': 0.7
    },
}
RESULTS = {
    'seeds': [0, 1],
    'dev': False,
    'results': {
        'icons': {
            'scratch': {
                'PA': {
                    'baseline': BASELINE,
                    'GCA-HNG': GCAHNG
                }
            }
        }
    }
}

README = """# tiny

Text before.

<!-- table:learning:start -->
stale
<!-- table:learning:end -->

Between.

<!-- table:paper:start -->
<!-- table:paper:end -->

After.
"""


@pytest.fixture
def tiny(tmp_path):
    readme, results = tmp_path / 'README.md', tmp_path / 'results.json'
    readme.write_text(README)
    results.write_text(json.dumps(RESULTS))
    return ['--readme', str(readme), '--learning', str(results)], readme


def test_tables_are_written_and_then_agree(tiny, capsys):
    args, readme = tiny
    assert TOOL.main(args + ['--check']) == 1
    assert 'learning, paper' in capsys.readouterr().out
    assert TOOL.main(args) == 0
    text = readme.read_text()
    assert text.startswith('# tiny\n\nText before.\n') and 'After.\n' in text
    row = next(line for line in text.splitlines() if '| GCA-HNG |' in line)
    cells = [c.strip() for c in row.strip('|').split('|')]
    assert cells == [
        'icons', 'PA', 'scratch', 'GCA-HNG', '51.0 ± 1.4', '53.0 ± 0.0',
        '2.0 ± 1.4', '10.5 ± 0.7', '12.0 ± 0.0', '1.5 ± 0.7', '0.60', '-'
    ]  # node acc., real_neg_cos (not in these results)
    assert '| method | setting | configs |' in text  # the paper table
    assert TOOL.main(args + ['--check']) == 0


def test_a_hand_edited_cell_fails_the_check(tiny, capsys):
    args, readme = tiny
    TOOL.main(args)
    readme.write_text(readme.read_text().replace('2.0 ± 1.4', '2.5 ± 1.4'))
    assert TOOL.main(args + ['--check']) == 1
    out = capsys.readouterr().out
    assert 'differ' in out and 'learning' in out and 'paper' not in \
        out.split('differ')[1]


def test_unknown_table_and_missing_results_are_user_errors(tiny):
    args, readme = tiny
    readme.write_text(README + '<!-- table:nope:start -->\n'
                      '<!-- table:nope:end -->\n')
    with pytest.raises(TOOL.ReadmeTableError, match="'nope' has no source"):
        TOOL.main(args)
    readme.write_text(README)
    with pytest.raises(TOOL.ReadmeTableError, match='no learning results'):
        TOOL.main(['--readme', str(readme), '--learning', 'missing.json'])


def test_the_memory_table_reads_its_own_file(tiny, tmp_path):
    args, readme = tiny
    memory = dict(RESULTS)
    memory['results'] = {
        'widelands': {
            'scratch': {
                'PA': {
                    'baseline': BASELINE,
                    'memory K=4B': GCAHNG
                }
            }
        }
    }
    (tmp_path / 'memory.json').write_text(json.dumps(memory))
    readme.write_text(README + '<!-- table:memory:start -->\n'
                      '<!-- table:memory:end -->\n')
    with pytest.raises(TOOL.ReadmeTableError, match='--memory names'):
        TOOL.main(args + ['--memory', str(tmp_path / 'missing.json')])
    assert TOOL.main(args + ['--memory', str(tmp_path / 'memory.json')]) == 0
    memory_part = readme.read_text().split('table:memory:start')[1]
    assert '| widelands | PA | scratch | memory K=4B |' in memory_part


def test_the_real_readme_agrees_with_its_sources():
    """Every table marked in README.md (the learning table once it has
    markers and its results file) is what the results files give."""
    assert TOOL.main(['--check']) == 0
