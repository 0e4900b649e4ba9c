#!/usr/bin/env bash
# Regenerates the seed corpora in tests/fuzz/corpus/ from a built `paci` (real schedules, cost
# files, traces and a checkpoint, small enough to mutate quickly).
#   tests/fuzz/make_corpus.sh [build/tools/paci]
set -euo pipefail
P="$(realpath "${1:-$(dirname "$0")/../../build/tools/paci}")"
cd "$(dirname "$0")"
c=corpus
rm -rf "$c" && mkdir -p "$c"/{schedule_text,schedule_csv,schedule_json,schedule_proto,cost_model,safetensors,chrome_trace,profile}
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT

specs=("gpipe --stages 2 --accum 2 --microbatches 2" "1f1b-flush --stages 3 --accum 3 --microbatches 3"
       "interleaved-1f1b --stages 2 --accum 2 --microbatches 2" "zb-h1 --stages 2 --accum 3 --microbatches 3"
       "pipedream --stages 2 --microbatches 4" "pipedream-2bw --stages 2 --accum 2 --microbatches 4"
       "pipemare --stages 2 --accum 2 --microbatches 4" "paci --stages 3 --accum 2 --microbatches 6")
i=0
for s in "${specs[@]}"; do
  name="$(echo "$s" | cut -d' ' -f1)"
  $P schedule --schedule $s --format text > "$c/schedule_text/$name.txt"
  $P schedule --schedule $s --format text --compact > "$c/schedule_text/$name-compact.txt" 2>/dev/null || true
  $P schedule --schedule $s --format csv > "$c/schedule_csv/$name.csv"
  $P schedule --schedule $s --format json > "$c/schedule_json/$name.json"
  $P schedule --schedule $s --format proto --output "$c/schedule_proto/$name.pb"
  i=$((i + 1))
done

cat > "$c/cost_model/uniform.json" <<'J'
{"stages": [{"fwd_ms": 1.0, "bwd_ms": 2.0, "opt_ms": 0.5, "activation_mb": 16, "weights_mb": 70,
  "message_mb": 4}], "links": [{"latency_us": 5, "bandwidth_gbps": 100}],
 "jitter": {"cv": 0.05, "seed": 1, "straggler_stage": 1, "straggler_factor": 1.5},
 "tokens_per_microbatch": 8192}
J
cat > "$c/cost_model/per_stage.json" <<'J'
{"stages": [{"fwd_ms": 1, "bwd_ms": 2}, {"fwd_ms": 1.5, "bwd_ms": 3, "wgrad_ms": 1}],
 "links": [{"latency_us": 1}, {"bandwidth_gbps": 0}]}
J
printf 'stages { forward_ns: 1000000 backward_input_ns: 2000000 activation_bytes: 1024 }\nlinks { latency_ns: 5000 bandwidth_bytes_per_s: 1e10 }\njitter { cv: 0.1 seed: 3 }\n' \
  > "$c/cost_model/proto.txt"

db="$tmp/t.db"
$P simulate --schedule paci --stages 2 --accum 2 --microbatches 4 --activation-mb 8 --db "$db" > /dev/null
$P simulate --schedule interleaved-1f1b --stages 2 --accum 2 --microbatches 2 --latency-us 3 --db "$db" > /dev/null
$P export --run 1 --db "$db" --format chrome -o "$c/chrome_trace/paci.json"
$P export --run 2 --db "$db" --format chrome -o "$c/chrome_trace/interleaved.json"

$P train --layers 1 --dim 8 --heads 2 --seq 4 --microbatch-size 1 --vocab 256 --updates 1 \
  --eval-batches 1 --save "$tmp/ck.safetensors" > /dev/null 2>&1
cp "$tmp/ck.safetensors" "$c/safetensors/tiny.safetensors"
cp "$tmp/ck.optim.safetensors" "$c/safetensors/tiny.optim.safetensors" 2>/dev/null || true
# Profiles measured here (tiny models, short timings: the values only need to be real and valid).
$P profile --layers 1 --dim 8 --heads 2 --seq 4 --vocab 256 --microbatch-size 1 --threads 1 \
  --max-seconds-per-layer 0.05 --colocate 0 -o "$c/profile/tiny.json" > /dev/null 2>&1
$P profile --layers 2 --dim 16 --heads 2 --seq 8 --vocab 256 --microbatch-size 2 --threads 1 \
  --max-seconds-per-layer 0.05 --colocate 3 --colocate-seconds 0.1 -o "$c/profile/colocated.json" > /dev/null 2>&1

echo "corpus: $(find "$c" -type f | wc -l) files, $(du -sh "$c" | cut -f1)"
