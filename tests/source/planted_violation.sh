#!/usr/bin/env bash
# Plants forbidden includes in a scratch git tree and shows that check-layering.py fails on each,
# naming the file and line, and passes once they are gone: a layering check that cannot fail is no check.
#   planted_violation.sh path/to/check-layering.py
set -euo pipefail
check="$(realpath "$1")"
tree="$(mktemp -d)"
trap 'rm -rf "$tree"' EXIT
cd "$tree"
git init -q .
mkdir -p sim gui/viewer exec/runtime store
printf '#include "sched/pipeline_spec.h"\n#include "store/run_writer.h"\n' > sim/planted.cc
printf '#include "tools/flag_parsing.h"\n' > gui/viewer/planted.cc
printf '#include <sqlite3.h>\n' > exec/runtime/planted.cc
printf '#include <sqlite3.h>\n#include "proto/status.h"\n' > store/fine.cc
git add -A
set +e
out="$(python3 "$check" --root "$tree" 2>&1)"
rc=$?
set -e
echo "$out"
[[ $rc == 1 ]] || { echo "FAIL: expected exit 1 on planted violations, got $rc"; exit 1; }
for want in 'sim/planted.cc:2: sim/ may not include "store/run_writer.h"' \
            'gui/viewer/planted.cc:1: gui/ may not include "tools/flag_parsing.h"' \
            'exec/runtime/planted.cc:1: <sqlite3.h> belongs to store/ only'; do
  grep -qF "$want" <<< "$out" || { echo "FAIL: missing: $want"; exit 1; }
done
grep -q "store/fine.cc" <<< "$out" && { echo "FAIL: store/ may include sqlite3.h and proto/"; exit 1; }
git rm -qf sim/planted.cc gui/viewer/planted.cc exec/runtime/planted.cc
python3 "$check" --root "$tree" || { echo "FAIL: a clean tree must pass"; exit 1; }
echo "planted_violation: 3 planted violations caught, the clean tree passes"
