#!/usr/bin/env python3
"""Formats a results folder's final.csv and tta-<target>.csv (scripts/make-results.sh, or
`paci study report --out DIR` whose tta.csv is read when no target is given) as the markdown table
of docs/results*.md:

    python3 scripts/study_table.py DIR [TARGET]

Final losses and gaps are means with 95 % t-intervals (the gap paired by seed); tokens and time to
target are geometric means with t-intervals on the logs; speed-ups are paired by seed
(docs/statistics.md). Numbers only: the words around a table are the author's."""
import csv
import sys

d = sys.argv[1]
tta_file = f'{d}/tta-{sys.argv[2]}.csv' if len(sys.argv) > 2 else f'{d}/tta.csv'
final = {r['configuration']: r for r in csv.DictReader(open(f'{d}/final.csv'))}
tta = {r['configuration']: r for r in csv.DictReader(open(tta_file))}


def f(x, n=3):
    return f'{float(x):.{n}f}' if x not in ('', None) else '-'


def g(x):
    return f'{float(x):,.0f}' if x not in ('', None) else '-'


def interval(r, key, fmt):
    if not r.get(key):
        return '-'
    return f"{fmt(r[key])} [{fmt(r[key + '_lo95'])}, {fmt(r[key + '_hi95'])}]"


def speedup(x):
    return f'{float(x):.2f}x'


print('| schedule | K | lr | seeds | final val loss [95 % CI] | gap to flush [95 % CI, paired] '
      '| tokens to target [95 % CI] (reached) | predicted TTA at paper scale (s) '
      '| speed-up vs flush, same K and lr [95 % CI, paired] | speed-up vs best flush [95 % CI, paired] |')
print('|---|---|---|---|---|---|---|---|---|---|')
rows = sorted(final.values(), key=lambda r: (float(r['lr']), int(r['K']), r['configuration']))
for r in rows:
    t = tta[r['configuration']]
    name = r['configuration'].split(' P=')[0]
    val = f"{f(r['val_loss'])} [{f(r['val_lo95'])}, {f(r['val_hi95'])}]"
    gap = f"{f(r['gap_to_flush'])} [{f(r['gap_lo95'])}, {f(r['gap_hi95'])}]" if r['gap_to_flush'] else '(baseline)'
    if t['tokens_to_target']:
        tok = f"{g(t['tokens_to_target'])} [{g(t['tokens_lo95'])}, {g(t['tokens_hi95'])}] ({t['reached']}/{t['seeds']})"
    else:
        tok = f"not reached by all ({t['reached']}/{t['seeds']})"
    vs_flush = interval(t, 'speedup_vs_flush', speedup)
    vs_best = '(best flush)' if (name == '1f1b-flush' and not t['best_flush'] and t['predicted_seconds']) \
        else interval(t, 'speedup_vs_best_flush', speedup)
    print(f"| {name} | {r['K']} | {r['lr']} | {r['seeds']} | {val} | {gap} | {tok} | "
          f"{f(t['predicted_seconds'], 2)} | {vs_flush} | {vs_best} |")
