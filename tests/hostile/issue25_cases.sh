#!/usr/bin/env bash
# The reproducers of issue 25 this branch fixes, run against a `paci` binary, one markdown row each:
# the command, its exit code (timeout: still running after the limit), seconds and the last line
# of stderr (CLI11's "Run with --help" left out). Each is bad input: the right answer is exit 2
# naming the input, at once.
#   tests/hostile/issue25_cases.sh build/tools/paci [seconds per case, default 20]
# Every case runs in a fresh temporary folder under `timeout` and a 4 GiB address-space limit.
set -u
PACI=$(realpath "$1")
LIMIT=${2:-20}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T"
M="--layers 2 --dim 32 --heads 4 --seq 16 --microbatch-size 2"
TR="train $M --schedule paci --stages 2 --accum 2"
"$PACI" simulate --schedule gpipe --stages 2 --db s.db >/dev/null 2>&1
"$PACI" train $M --updates 1 --eval-batches 1 --save ck.safetensors >/dev/null 2>&1
python3 - <<'PY'
import struct
b = bytearray(open("ck.safetensors", "rb").read())
h = struct.unpack("<Q", b[:8])[0]
b[8 + h:12 + h] = struct.pack("<f", float("nan"))
open("nan.safetensors", "wb").write(b)
open("nan.optim.safetensors", "wb").write(open("ck.optim.safetensors", "rb").read())
PY
echo x > afile
echo '{"name": 5, "peak_tflops_fp32": 100, "memory_bandwidth_gbs": 1000}' > hw-type.json
echo '{"peak_tflops_fp32": 1e308, "memory_bandwidth_gbs": 1000}' > hw-huge.json
echo '{"layers": 2, "dim": 64, "heads": 4, "tie": "yes"}' > model-type.json
echo '{"name": [1], "bandwidth_gbs": 100}' > link-type.json
SIM="simulate --schedule gpipe --stages 2 --no-db"
cases=(
  "study --stages 0 --db x.db"
  "study --stages 4 --jobs 1073741824 --db x.db"
  "study --seeds 4294967295 $M --db x.db"
  "profile $M --colocate 2 --colocate-seconds nan"
  "profile $M --colocate 2 --colocate-seconds 1e308"
  "profile $M --colocate 2 --colocate-seconds -1"
  "profile $M --colocate 100000"
  "simulate --schedule gpipe --stages 2 --model gpt2 --layers 1048576 --hardware h100 --no-db"
  "study --accum 0 $M --updates 2 --db x.db"
  "study --lr 0 $M --updates 2 --db x.db"
  "study --lr -1 $M --updates 2 --db x.db"
  "study --lr inf $M --updates 2 --db x.db"
  "study --lr nan $M --updates 2 --db x.db"
  "study --stages 5000 $M --updates 2 --db x.db"
  "study --accum 2,2 $M --updates 2 --db x.db"
  "study --layers 0 --updates 2 --db x.db"
  "$SIM --model gpt2 --hardware hw-type.json"
  "$SIM --model model-type.json --hardware h100"
  "$SIM --model gpt2 --hardware h100 --link link-type.json"
  "$SIM --model gpt2 --hardware hw-huge.json"
  "train $M --updates 1 --data /dev/zero"
  "train $M --updates 1 --resume /dev/zero"
  "profile --show /dev/zero"
  "study report --out afile --db s.db"
  "study --log-dir afile $M --updates 2 --db x.db"
  "$TR --updates 4 --drift-lr-scale inf --db t.db"
  "$TR --updates 3 --resume nan.safetensors --db t.db"
  "train $M --updates 3 --resume nan.safetensors"
  "$SIM --accum 0"
  "$SIM --updates 0"
  "$SIM --model gpt2 --hardware h100 --microbatch-size 0"
  "train $M --updates 0"
  "simulate --schedule paci --stages 2 --accum 4 --updates 4611686018427387904 --no-db"
  "study report --out r --target-loss nan --db s.db"
  "study report --out r --target-loss inf --db s.db"
  "sweep --loss-curves s.db --target-loss inf --fwd-ms 1 --no-db"
  "sweep --loss-curves s.db --target-loss -1 --fwd-ms 1 --no-db"
  "profile --dim 65536 --seq 4096 --microbatch-size 64"
  "profile --layers 2 --dim 512 --heads 8 --seq 64 --colocate 256"
  "study --schedules paci --stages 2 --accum 2 --lr 0.001,0.0010000001 $M --updates 2 --db x.db"
  "study --schedules paci --stages 2 --accum 2 --grad-clip 1 $M --updates 2 --db x.db"
  "study --accum 2,x $M --updates 2 --db x.db"
)
echo "| command | exit | seconds | message |"
echo "|---|---|---|---|"
for c in "${cases[@]}"; do
  start=$(date +%s.%N)
  # shellcheck disable=SC2086
  (ulimit -v 4194304; timeout -s KILL "$LIMIT" "$PACI" $c >/dev/null 2>err.txt)
  rc=$?
  secs=$(echo "$(date +%s.%N) - $start" | bc)
  [ "$rc" = 137 ] && rc="timeout (killed)"
  msg=$(grep -v '^Run with --help' err.txt | tail -n 1 | cut -c1-110 | sed 's/|/\\|/g')
  printf '| `paci %s` | %s | %.1f | %s |\n' "$c" "$rc" "$secs" "$msg"
  rm -rf x.db x.db.logs t.db r
done
