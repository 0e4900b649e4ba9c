#!/usr/bin/env bash
# scripts/make-results.sh rebuilds, from the committed data alone, every CSV and markdown table under
# docs/results/ byte for byte, and nothing more: make_results_test.sh PACI ROOT.
set -euo pipefail
paci=$1 root=$2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
bash "$root/scripts/make-results.sh" --out "$out" --no-plots --paci "$paci" >/dev/null
fail=0
cd "$root/docs/results"
while IFS= read -r f; do
  if ! cmp -s "$f" "$out/$f"; then
    echo "make-results: $f differs from the committed one:"
    diff "$f" "$out/$f" | head -5 || true
    fail=1
  fi
done < <(find . \( -name '*.csv' -o -name 'table-*.md' \) -not -path './data/*' | sort)
cd "$out"
while IFS= read -r f; do
  [ -f "$root/docs/results/$f" ] || { echo "make-results: $f is made but not committed"; fail=1; }
done < <(find . \( -name '*.csv' -o -name 'table-*.md' \) | sort)
# The results pages quote those tables (scripts/sync-result-tables.py keeps them the data's).
python3 "$root/scripts/sync-result-tables.py" --check || fail=1
[ "$fail" = 0 ] && echo "make-results: every CSV and table under docs/results rebuilt unchanged, the pages' tables in sync"
exit "$fail"
