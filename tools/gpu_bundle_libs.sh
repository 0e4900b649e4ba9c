#!/usr/bin/env bash
# Inside the bare root of `tools/gpu_check.sh dryrun`: every binary of the bundle must load, each of
# its libraries resolved from the bundle, glibc or the CUDA toolkit (never from anywhere else).
#   gpu_bundle_libs.sh BUNDLE
set -uo pipefail
bundle="${1:?usage: gpu_bundle_libs.sh BUNDLE}"
glibc='/(ld-linux-x86-64|libc|libm|libdl|libpthread|librt|libresolv)\.so'
failed=0
for t in $(cat "$bundle/BINARIES"); do
  out=$(LD_LIBRARY_PATH="$bundle/lib:/usr/local/cuda/lib64:/usr/local/cuda/lib" \
    /lib64/ld-linux-x86-64.so.2 --list "$bundle/$t" 2>&1)
  missing=$(grep "not found" <<< "$out")
  outside=$(grep -oE "=> /[^ ]+" <<< "$out" | grep -vE "=> $bundle/|=> /usr/local/cuda/|$glibc")
  if [[ -n "$missing" ]]; then echo "FAIL $t: $(tr -s ' \t\n' ' ' <<< "$missing")"; failed=1
  elif [[ -n "$outside" ]]; then echo "FAIL $t loads from outside the bundle: $(tr '\n' ' ' <<< "$outside")"; failed=1
  else echo "ok   $t: $(grep -c '=>' <<< "$out") libraries, from the bundle, glibc or the CUDA toolkit"; fi
done
exit "$failed"
