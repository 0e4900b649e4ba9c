#!/usr/bin/env bash
# The main job on the embedded default: compare schedules for an 8-stage pipeline.
set -euo pipefail
cd "$(dirname "$0")/.."
PACI=build/tools/paci
for s in 1f1b-flush paci; do
  "$PACI" schedule --schedule "$s" --stages 8 --accum 8 --analyze
done
