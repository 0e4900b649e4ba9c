#!/usr/bin/env bash
# Stage-thread pinning (`paci train --pin`), side by side in one run: the same pipelined training
# with --pin off and --pin on, alternated REPS times so both see the same machine load, then each
# side's median tokens/s and the ratio. Training is identical either way (the test
# Train.PinningIsReportedAndLeavesTheLossesAlone checks the losses); only the speed may differ.
# Usage: bench/pinning.sh [BUILD_DIR] [REPS] [extra paci train flags...]
#   default: P = CPUs this process may use (one kernel thread each), 4 blocks of width 128.
# Results: bench/README.md.
set -euo pipefail
BUILD="${1:-build}"
REPS="${2:-5}"
shift $(( $# > 2 ? 2 : $# ))
PACI="$BUILD/tools/paci"
P=$(nproc)
MODEL=(--layers 4 --dim 128 --heads 4 --seq 64 --microbatch-size 8 --eval-every 0 --eval-batches 1)
RUN=(train "${MODEL[@]}" --schedule paci --stages "$P" --accum "$P" --updates 30 --threads 1 --no-db "$@")

tokens_per_s() { "$PACI" "${RUN[@]}" --pin "$1" 2>/dev/null | sed -n 's/.*, \([0-9.]*\) tokens\/s;.*/\1/p'; }

echo "paci ${RUN[*]}"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg); CPUs this process may use: $P"
off=() on=()
for ((i = 0; i < REPS; i++)); do
  off+=("$(tokens_per_s off)")
  on+=("$(tokens_per_s on)")
  echo "rep $i: --pin off ${off[-1]} tokens/s, --pin on ${on[-1]} tokens/s"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
m_off=$(median "${off[@]}") m_on=$(median "${on[@]}")
echo "median tokens/s: --pin off $m_off, --pin on $m_on, ratio on/off $(awk -v a="$m_on" -v b="$m_off" 'BEGIN {printf "%.3f", a / b}')"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
