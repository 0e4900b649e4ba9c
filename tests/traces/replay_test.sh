#!/usr/bin/env bash
# Golden-data regression: the recorded stores in traces/ (real runs of this executor with their
# predictions) replayed through `paci compare` must give the makespan errors in traces/expected.txt,
# and export, summary and the store's integrity must still work on them.
# Usage: replay_test.sh PACI_BINARY TRACES_DIR
set -euo pipefail
PACI="$1"
TRACES="$2"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$TRACES"/*.db "$work"/   # never touch the recorded files (WAL files would appear beside them)

passed=0
failed=0
while read -r db pred meas want; do
  got=$("$PACI" compare "$pred" "$meas" --db "$work/$db" --json |
        python3 -c 'import json,sys; print("%.6f" % json.load(sys.stdin)["makespan_error_pct"])')
  if python3 -c "import sys; sys.exit(0 if abs($got - ($want)) < 1e-6 else 1)"; then
    echo "ok: $db: prediction $pred of run $meas: makespan error $got %"
    passed=$((passed + 1))
  else
    echo "FAIL: $db: prediction $pred of run $meas: makespan error $got %, recorded $want %"
    failed=$((failed + 1))
  fi
  events=$("$PACI" export --run "$meas" --format chrome --db "$work/$db" |
           python3 -c 'import json,sys; print(sum(1 for e in json.load(sys.stdin)["traceEvents"] if e.get("ph") == "X"))')
  ops=$(sqlite3 "$work/$db" "select count(*) from ops where run = $meas")
  if [[ "$events" -ne "$ops" ]]; then echo "FAIL: $db run $meas: $events complete events for $ops ops"; failed=$((failed + 1)); fi
done < "$TRACES/expected.txt"

for db in "$work"/*.db; do
  [[ "$(sqlite3 "$db" 'pragma integrity_check')" == ok ]] || { echo "FAIL: $db integrity"; failed=$((failed + 1)); }
  ids=$(sqlite3 "$db" "select id from runs order by id" | tr '\n' ' ')
  # shellcheck disable=SC2086
  "$PACI" summary $ids --db "$db" > "$work/summary.txt" || { echo "FAIL: summary of $db"; failed=$((failed + 1)); }
done
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
