#!/usr/bin/env bash
# Out-of-sample prediction accuracy: profile the model once (`paci profile`), then for every
# schedule x P in {2, 4} x K in {4, 8}: predict the run before it exists from the profile alone
# (`paci predict --schedule ... --profile`, with and without the co-location model), train it
# (`paci train --schedule`, threads, one stage per thread), and compare makespan and per-stage
# bubble. Prints a Markdown table and the median / max |makespan error|.
# Environment: PACI_UPDATES (default 20), PACI_OUT (default bench/prediction_accuracy.out),
# PACI_SCHEDULES, PACI_STAGES, PACI_KS (space-separated subsets, default all / "2 4" / "4 8").
set -euo pipefail
cd "$(dirname "$0")/.."
PACI=build/tools/paci
UPDATES="${PACI_UPDATES:-20}"
OUT="${PACI_OUT:-bench/prediction_accuracy.out}"
mkdir -p "$OUT"
DB="$OUT/runs.db"
rm -f "$DB" "$OUT"/*.json
MODEL=(--layers 6 --dim 64 --heads 4 --seq 64)
B=8

"$PACI" profile "${MODEL[@]}" --microbatch-size "$B" --threads 1 --colocate 4 -o "$OUT/profile.json" \
  | tee "$OUT/profile.txt"

for sched in ${PACI_SCHEDULES:-gpipe 1f1b-flush interleaved-1f1b zb-h1 pipedream pipedream-2bw pipemare paci}; do
  for P in ${PACI_STAGES:-2 4}; do
    for K in ${PACI_KS:-4 8}; do
      case "$sched" in
        gpipe|1f1b-flush|zb-h1) spec=(--microbatches "$K" --iterations "$UPDATES") ;;
        interleaved-1f1b) spec=(--microbatches "$K" --iterations "$UPDATES" --chunks 2) ;;
        pipedream) spec=(--accum 1 --iterations "$UPDATES") ;;
        *) spec=(--accum "$K" --iterations "$UPDATES") ;;
      esac
      chunks=(); [[ "$sched" == interleaved-1f1b ]] && chunks=(--chunks 2)
      tag="$sched-P$P-K$K"
      "$PACI" predict --schedule "$sched" --stages "$P" "${spec[@]}" --profile "$OUT/profile.json" \
        --db "$DB" --json --name "before: $tag" > "$OUT/$tag.alone.json"
      "$PACI" predict --schedule "$sched" --stages "$P" "${spec[@]}" --profile "$OUT/profile.json" --colocate \
        --db "$DB" --json --name "before: $tag co-located" > "$OUT/$tag.coloc.json"
      run="$("$PACI" train --schedule "$sched" --stages "$P" --accum "$K" "${chunks[@]}" "${MODEL[@]}" \
               --microbatch-size "$B" --updates "$UPDATES" --eval-batches 2 --db "$DB" --name "run: $tag" \
             | sed -n 's/^stored measured run \([0-9]*\) .*/\1/p')"
      # Measured numbers (the costs of this call are not used: its "measured" half is the run's).
      "$PACI" predict --run "$run" --db "$DB" --json > "$OUT/$tag.measured.json"
      echo "$tag: run $run" >&2
    done
  done
done

python3 - "$OUT" <<'EOF'
import json, os, statistics, sys
out = sys.argv[1]
rows, errs = [], {"alone": [], "coloc": []}
bub = {"alone": [], "coloc": []}
for name in sorted(os.listdir(out)):
    if not name.endswith(".measured.json"): continue
    tag = name[:-len(".measured.json")]
    m = json.load(open(os.path.join(out, name)))["measured"]
    cells = [tag, f"{m['makespan_ms']:.0f}"]
    for kind in ("alone", "coloc"):
        p = json.load(open(os.path.join(out, f"{tag}.{kind}.json")))["predicted"]
        e = (p["makespan_ms"] - m["makespan_ms"]) / m["makespan_ms"] * 100
        errs[kind].append(abs(e))
        be = max(abs(a - b) for a, b in zip(p["stage_bubble_fraction"], m["stage_bubble_fraction"]))
        bub[kind].append(be)
        cells += [f"{p['makespan_ms']:.0f}", f"{e:+.1f}%", f"{be:.3f}"]
    rows.append(cells)
print("| case | measured ms | alone: predicted ms | error | max stage bubble error | co-located: predicted ms | error | max stage bubble error |")
print("|---|---|---|---|---|---|---|---|")
for r in rows: print("| " + " | ".join(r) + " |")
for kind in ("alone", "coloc"):
    print(f"{kind}: median |makespan error| {statistics.median(errs[kind]):.1f}%, max {max(errs[kind]):.1f}%; "
          f"median max-stage bubble error {statistics.median(bub[kind]):.3f}")
EOF
