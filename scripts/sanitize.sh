#!/usr/bin/env bash
# Sanitizer builds of the CPU code (CUDA and the Qt viewer off; Debug, so asserts stay on, at -O1),
# each in its own build folder.
#   scripts/sanitize.sh asan   ASan + UBSan in build-asan/, then the test suite (CI runs this)
#   scripts/sanitize.sh tsan   TSan in build-tsan/ (OpenMP off, see below), then the runtime tests
#                              (stage threads, transports; not the process-spawning ones labelled serial)
# Any report fails the run: UBSan does not recover, LSan reports leaks at exit, and only
# OpenMPI's own leaks are suppressed (tests/sanitizers/lsan.supp). Extra arguments go to ctest.
set -euo pipefail
cd "$(dirname "$0")/.."

kind="${1:-asan}"
shift || true
jobs="$(nproc)"
supp="$PWD/tests/sanitizers"
common=(-DCMAKE_BUILD_TYPE=Debug -DPACI_WITH_CUDA=OFF -DPACI_WITH_QT=OFF -DPACI_NATIVE=OFF)

case "$kind" in
  asan)
    flags="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined"
    cmake -S . -B build-asan "${common[@]}" -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" \
      -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" > /dev/null
    start=$SECONDS
    cmake --build build-asan -j"$jobs"
    echo "asan: build took $((SECONDS - start)) s"
    start=$SECONDS
    export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=0"
    export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0"
    export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
    # OpenMPI under mpirun: the ranks inherit the options above.
    export OMPI_MCA_rmaps_base_oversubscribe=1
    cd build-asan
    # GoldenLosses checks each loss to 1e-5 relative of a Release build's; this -O1 build's differ by
    # at most 1e-7 (docs/hostile-input.md), so it runs here too.
    ctest --output-on-failure -j"$jobs" -LE serial --timeout 900 "$@"
    # The documented commands (label docs) run in the Release suite: here their training and
    # studies would take ten times as long for what the CLI tests above already cover.
    ctest --output-on-failure -L serial -LE docs -E runtime_mpi_vs_threads --timeout 900 "$@"
    # OpenMPI dlcloses its plugins (mca_*.so) at MPI_Finalize, so LSan sees their leaks in an
    # "<unknown module>" that no suppression can name: the MPI ranks run under ASan and UBSan
    # without leak checking. The same runtime code is leak-checked over the threads transport.
    ASAN_OPTIONS="${ASAN_OPTIONS/detect_leaks=1/detect_leaks=0}" \
      ctest --output-on-failure -R runtime_mpi_vs_threads --timeout 900 "$@"
    echo "asan: tests took $((SECONDS - start)) s"
    ;;
  tsan)
    flags="-O1 -g -fno-omit-frame-pointer -fsanitize=thread"
    # OpenMP off: Debian's libgomp is not built with TSan, so TSan cannot see the barrier that hands
    # a parallel region's shared variables to the team's pooled threads, and it reports every
    # reused team reading them as a race (Eigen's parallelize_gemm, ExchangeWorker.*). Without
    # OpenMP each stage thread runs its kernels itself; the races TSan can judge are between our
    # own threads (stages, transports, CPU streams), and those are what this run checks.
    cmake -S . -B build-tsan "${common[@]}" -DPACI_WITH_MPI=OFF -DPACI_OPENMP=OFF -DCMAKE_C_FLAGS="$flags" \
      -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=thread" > /dev/null
    start=$SECONDS
    # Every runtime test binary; the process-spawning ones (label serial: MPI, the CLI) are not built.
    # exec_threads_test checks that this OpenMP-off build plans one kernel thread per stage.
    cmake --build build-tsan -j"$jobs" --target runtime_pipeline_test runtime_transport_test \
      runtime_golden_losses_test runtime_deferred_timing_test runtime_exchange_plan_test runtime_exchange_worker_test \
      exec_threads_test
    echo "tsan: build took $((SECONDS - start)) s"
    start=$SECONDS
    export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1"
    cd build-tsan
    ctest --output-on-failure -L runtime -LE serial --timeout 900 "$@"
    ctest --output-on-failure -R '^(ThreadBudget|Gemm)[.]' --timeout 900 "$@"
    echo "tsan: tests took $((SECONDS - start)) s"
    ;;
  *)
    echo "usage: scripts/sanitize.sh asan|tsan [ctest args]" >&2
    exit 2
    ;;
esac
