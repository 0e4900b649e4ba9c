#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang, ASan and UBSan in build-fuzz/, then runs
# each for SECONDS seconds starting from its seed corpus in tests/fuzz/corpus/<target>/.
#   scripts/fuzz.sh [SECONDS] [TARGET...]      default: 30 seconds each, every target
# New inputs go to build-fuzz/corpus/<target>/; a crash, leak or timeout leaves its input in
# build-fuzz/artifacts/ and makes the script exit 1 (turn it into a regression test under
# tests/fuzz/regressions/<target>/, which tests/fuzz/replay_test.sh replays).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-30}"
shift || true
all=(fuzz_schedule_text fuzz_schedule_csv fuzz_schedule_json fuzz_schedule_proto fuzz_cost_model
     fuzz_safetensors fuzz_chrome_trace fuzz_profile fuzz_model_files fuzz_study_grid)
targets=("$@")
if ((${#targets[@]} == 0)); then targets=("${all[@]}"); fi

mkdir -p build-fuzz
flags="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=undefined"
CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DPACI_FUZZ=ON \
  -DPACI_WITH_QT=OFF -DPACI_WITH_MPI=OFF -DPACI_WITH_CUDA=OFF -DPACI_NATIVE=OFF \
  -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" > build-fuzz/build.log
cmake --build build-fuzz -j"$(nproc)" --target "${targets[@]}" >> build-fuzz/build.log

mkdir -p build-fuzz/artifacts
status=0
for t in "${targets[@]}"; do
  mkdir -p "build-fuzz/corpus/$t"
  dirs=("build-fuzz/corpus/$t")
  for d in "tests/fuzz/corpus/${t#fuzz_}" "tests/fuzz/regressions/${t#fuzz_}"; do
    if [[ -d "$d" ]]; then dirs+=("$d"); fi
  done
  echo "== $t: ${seconds}s"
  # -max_total_time is wall time; on a shared machine the CPU time is what says how much fuzzing
  # was done, so each run's CPU seconds are printed and appended to build-fuzz/cpu.log.
  TIMEFORMAT="$t: %0R s wall, %0U s user, %0S s system"
  if ! { time build-fuzz/tests/fuzz/"$t" -max_total_time="$seconds" -timeout=60 -rss_limit_mb=2048 \
       -max_len=65536 -print_final_stats=1 -artifact_prefix="build-fuzz/artifacts/$t-" \
       "${dirs[@]}" 2> "build-fuzz/$t.log"; } 2>> build-fuzz/cpu.log; then
    echo "$t: FAILED (see build-fuzz/$t.log and build-fuzz/artifacts/)"
    status=1
  fi
  grep -E "stat::number_of_executed_units|Done [0-9]+ runs" "build-fuzz/$t.log" | tail -1 || true
  tail -1 build-fuzz/cpu.log
done
exit $status
