"""Write README.md's result tables from the results files they report.

A table in README.md stands between two markers::

    <!-- table:NAME:start -->
    ... generated, do not edit ...
    <!-- table:NAME:end -->

and is rendered from its source:

- ``paper``: the paper's numbers in ``configs/*/metafile.yml``
  (``collect_results.py --paper-table``'s table);
- ``learning``: the learning benchmark's results, the JSON that
  ``benchmarks/learning.py --suite --results FILE`` writes (``--learning``
  names the file): a row per benchmark, loss, regime and run against the
  baseline, R@1 and M@R as mean ± sd over the seeds and their gains paired
  by seed (:func:`gcahng.evaluation.result_tables.suite_table`, the table
  the benchmark prints), and the graph head's node accuracy;
- ``memory``: the memory-graph runs of the learning benchmark (plain
  GCA-HNG, memory variants, the XBM baseline; ``--memory`` names the file),
  rendered as the learning table.

Only the markers that README.md holds are filled; a table whose source is
missing is an error. ``--check`` writes nothing and exits 1 when a table
in README.md differs from what its source gives (the test suite runs it).

Usage::

    python tools/analysis_tools/readme_tables.py                # rewrite
    python tools/analysis_tools/readme_tables.py --check        # compare
    python tools/analysis_tools/readme_tables.py \\
        --learning work_dirs/learning/suite.json
"""
import argparse
import json
import os.path as osp
import re
import sys
from typing import Callable, Dict, List, Optional, Sequence

HERE = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(osp.dirname(HERE))
if HERE not in sys.path:  # collect_results beside this file
    sys.path.insert(0, HERE)

from collect_results import paper_table  # noqa: E402

from gcahng.evaluation.result_tables import suite_table  # noqa: E402
from gcahng.utils import UserError, run_tool  # noqa: E402

#: The README's learning table: (metric, header) after the gains.
LEARNING_HEALTH = (('gce_acc', 'node acc.'), ('real_neg_cos', 'real_neg_cos'))

MARKER = re.compile(
    r'(<!-- table:(?P<name>[\w-]+):start -->\n)(?P<body>.*?)'
    r'(<!-- table:(?P=name):end -->)', re.S)


class ReadmeTableError(UserError, ValueError):
    """A table marker without a source, or a source that cannot be read."""


def learning_table(path: str, flag: str = '--learning') -> str:
    """A table of ``benchmarks/learning.py``'s results (``flag``: the
    option that names the file, for the error)."""
    if not osp.isfile(path):
        raise ReadmeTableError(
            f'no learning results at {path} (benchmarks/learning.py --suite '
            f'--results FILE writes them; {flag} names the file)')
    with open(path) as f:
        data = json.load(f)
    seeds = [int(s) for s in data['seeds']]
    results = {
        bench: {
            regime: {
                loss: {
                    run: {
                        int(s): m
                        for s, m in by_seed.items()
                    }
                    for run, by_seed in runs.items()
                }
                for loss, runs in by_loss.items()
            }
            for regime, by_loss in by_regime.items()
        }
        for bench, by_regime in data['results'].items()
    }
    split = ' (dev split)' if data.get('dev') else ''
    return (suite_table(results, seeds, LEARNING_HEALTH) + '\n\n' +
            f'Seeds {", ".join(str(s) for s in seeds)}{split}; from '
            f'`{osp.relpath(osp.abspath(path), REPO)}`.\n')


def render(text: str, sources: Dict[str, Callable[[], str]]) -> str:
    """``text`` with every marked table replaced by its source's."""

    def fill(match: 're.Match') -> str:
        name = match.group('name')
        if name not in sources:
            raise ReadmeTableError(
                f'README table {name!r} has no source (known: '
                f'{", ".join(sorted(sources))})')
        body = sources[name]()
        return match.group(1) + body.rstrip('\n') + '\n' + match.group(4)

    return MARKER.sub(fill, text)


def table_names(text: str) -> List[str]:
    """The names of the marked tables in ``text``, in order."""
    return [m.group('name') for m in MARKER.finditer(text)]


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command line of the tool."""
    parser = argparse.ArgumentParser(
        description='Write README.md\'s result tables from their results '
        'files')
    parser.add_argument(
        '--readme',
        default=osp.join(REPO, 'README.md'),
        help='the Markdown file (default: README.md)')
    parser.add_argument(
        '--learning',
        default=osp.join(REPO, 'docs', 'results', 'learning.json'),
        help='benchmarks/learning.py --suite --results FILE (for the '
        '"learning" table)')
    parser.add_argument(
        '--memory',
        default=osp.join(REPO, 'docs', 'results', 'memory.json'),
        help='benchmarks/learning.py --suite --results FILE of the memory '
        'graph runs (for the "memory" table)')
    parser.add_argument(
        '--check',
        action='store_true',
        help='write nothing; exit 1 when a table differs from its source')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the tool; returns the exit status (1: ``--check`` found a
    difference)."""
    args = parse_args(argv)
    with open(args.readme) as f:
        text = f.read()
    sources: Dict[str, Callable[[], str]] = dict(
        paper=paper_table,
        learning=lambda: learning_table(args.learning),
        memory=lambda: learning_table(args.memory, '--memory'))
    new = render(text, sources)
    names = table_names(text)
    if args.check:
        if new != text:
            stale = [n for n in names if body_of(text, n) != body_of(new, n)]
            print(f'{args.readme}: tables differ from their sources: '
                  f'{", ".join(stale)} (run '
                  'tools/analysis_tools/readme_tables.py)')
            return 1
        print(f'{args.readme}: {len(names)} tables agree with their sources')
        return 0
    if new != text:
        with open(args.readme, 'w') as f:
            f.write(new)
    print(f'{args.readme}: wrote {len(names)} tables '
          f'({", ".join(names) or "no markers"})')
    return 0


def body_of(text: str, name: str) -> str:
    """The text between the markers of table ``name`` in ``text``."""
    for match in MARKER.finditer(text):
        if match.group('name') == name:
            return match.group('body')
    return ''


if __name__ == '__main__':
    run_tool(lambda: main(sys.argv[1:]))
