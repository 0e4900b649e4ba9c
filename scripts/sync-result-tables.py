#!/usr/bin/env python3
"""Copies the markdown tables scripts/make-results.sh writes (docs/results/*/table-<target>.md) into
the results pages, so a page's table is always the data's. In a page, a marker line

    <!-- results-table: results/p8/table-3.0.md -->
    <!-- results-table: results/p8/table-3.0.md reached -->

is followed by the table it owns (the lines starting with '|'); `reached` keeps only the rows whose
configuration reached the target on every seed. The columns are scripts/study_table.py's.

    python3 scripts/sync-result-tables.py           # rewrite the tables in docs/*.md
    python3 scripts/sync-result-tables.py --check   # exit 1 naming each table that differs
"""
import pathlib
import re
import sys

root = pathlib.Path(__file__).resolve().parent.parent
marker = re.compile(r'^<!-- results-table: (\S+)( reached)? -->$')


def table_for(path, reached_only):
    rows = (root / 'docs' / path).read_text().rstrip('\n').split('\n')
    if reached_only:
        rows = rows[:2] + [r for r in rows[2:] if 'not reached' not in r]
    return rows


def sync(page):
    lines = page.read_text().split('\n')
    out, stale, i = [], [], 0
    while i < len(lines):
        out.append(lines[i])
        m = marker.match(lines[i])
        i += 1
        if not m:
            continue
        old = []
        while i < len(lines) and lines[i].startswith('|'):
            old.append(lines[i])
            i += 1
        new = table_for(m.group(1), bool(m.group(2)))
        if new != old:
            stale.append(m.group(1))
        out.extend(new)
    return '\n'.join(out), stale


def main():
    check = '--check' in sys.argv[1:]
    failed = False
    for page in sorted((root / 'docs').glob('*.md')):
        text, stale = sync(page)
        for t in stale:
            print(f'{page.relative_to(root)}: the table of {t} differs from the data\'s', file=sys.stderr)
        if stale and not check:
            page.write_text(text)
        failed = failed or bool(stale)
    sys.exit(1 if check and failed else 0)


main()
