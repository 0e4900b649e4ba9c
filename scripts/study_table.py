#!/usr/bin/env python3
"""Formats final.csv and tta.csv of `paci study report --out DIR` as the markdown table of docs/results.md: python3 scripts/study_table.py DIR"""
import csv, sys
d = sys.argv[1]
final = {r['configuration']: r for r in csv.DictReader(open(f'{d}/final.csv'))}
tta = {r['configuration']: r for r in csv.DictReader(open(f'{d}/tta.csv'))}
def f(x, n=3): return f'{float(x):.{n}f}' if x not in ('', None) else '-'
def g(x): return f'{float(x):,.0f}' if x not in ('', None) else '-'
rows = []
for k, r in final.items():
    t = tta[k]
    rows.append((r, t))
def setup_of(r):  # the setup the report appends to a label when two setups share one, else ''
    return r['configuration'].split(' tokens/update=')[1].partition(' ')[2]
def flush_of(r):
    for k, o in final.items():
        if (o['schedule'] == '1f1b-flush' and o['P'] == r['P'] and o['lr'] == r['lr'] and
                o['tokens_per_update'] == r['tokens_per_update'] and setup_of(o) == setup_of(r)):
            return tta[k]
print('| schedule | K | lr | seeds | final val loss [95 % CI] | gap to flush [95 % CI, paired] | tokens to target [95 % CI] (reached) | predicted TTA at paper scale (s) | TTA speed-up vs flush, same K and lr |')
print('|---|---|---|---|---|---|---|---|---|')
rows.sort(key=lambda rt: (float(rt[0]['lr']), int(rt[0]['K']), rt[0]['configuration']))
for r, t in rows:
    name = r['configuration'].split(' P=')[0]
    gap = f"{f(r['gap_to_flush'])} [{f(r['gap_lo95'])}, {f(r['gap_hi95'])}]" if r['gap_to_flush'] else '(baseline)'
    tok = f"{g(t['tokens_to_target'])} [{g(t['tokens_lo95'])}, {g(t['tokens_hi95'])}] ({t['reached']}/{t['seeds']})" if t['tokens_to_target'] else f"not reached by all ({t['reached']}/{t['seeds']})"
    fl = flush_of(r)
    sp = '-'
    if fl and fl['predicted_seconds'] and t['predicted_seconds'] and name != '1f1b-flush':
        sp = f"{float(fl['predicted_seconds'])/float(t['predicted_seconds']):.2f}x"
    print(f"| {name} | {r['K']} | {r['lr']} | {r['seeds']} | {f(r['val_loss'])} [{f(r['val_lo95'])}, {f(r['val_hi95'])}] | {gap} | {tok} | {f(t['predicted_seconds'],2)} | {sp} |")
