#!/usr/bin/env bash
# Out-of-sample prediction accuracy: for every schedule x P in {2, 4} x K in {4, 8}, in one
# (profile, predict, run) triple per case: profile the model on this machine (`paci profile`,
# co-location for 2..P stages), predict the run before it exists from that profile alone
# (`paci predict --schedule ... --profile`, with and without the co-location model), train it
# (`paci train --schedule`, threads, one stage per thread) and compare makespan and per-stage
# bubble. Profiling right before each run, not once for all, keeps the profile and the run under
# the same background load on a shared machine; the 1-minute load average is recorded at the
# profile, at the start of the run and at its end. Nothing of the run is used by its prediction.
# Prints a Markdown table and the median / max |makespan error|, and, as a diagnostic only (it reads
# the run, so it is no prediction), how much slower or faster the run's compute ops were than the
# co-located prediction's, and the makespan error left once that op-speed ratio is divided out.
# PACI_TABLE_ONLY=1 prints the table of an existing $PACI_OUT without running anything.
# PACI_REPREDICT=1 predicts every case of an existing $PACI_OUT again from its stored profile with
# $PACI_BIN, trains nothing, and prints the table: a cost-model change judged on the same runs
# (same PACI_UPDATES as they had; it rewrites the predictions in place, so copy the folder first).
# Environment: PACI_UPDATES (default 20), PACI_OUT (default bench/prediction_accuracy.out), PACI_BIN
# (default build/tools/paci; a copy keeps a rebuild from changing the binary mid-run),
# PACI_SCHEDULES, PACI_STAGES, PACI_KS (space-separated subsets, default all / "2 4" / "4 8"),
# PACI_REPEATS (default 1): every case again, with a fresh profile, this many times in all (the
# whole set once, then again, so that a slow minute of the host does not fall on one case only).
# PipeDream has K = 1: one case per P, of 4 x PACI_UPDATES micro-batches.
set -euo pipefail
cd "$(dirname "$0")/.."
PACI="${PACI_BIN:-build/tools/paci}"
UPDATES="${PACI_UPDATES:-20}"
OUT="${PACI_OUT:-bench/prediction_accuracy.out}"
# Checked before anything is created or deleted: a typo must not cost the last run's output.
[[ "${PACI_REPEATS:-1}" =~ ^[1-9][0-9]*$ ]] || { echo "PACI_REPEATS: must be a whole number >= 1, got '${PACI_REPEATS}'" >&2; exit 2; }
mkdir -p "$OUT"
DB="$OUT/runs.db"
[[ -n "${PACI_TABLE_ONLY:-}${PACI_REPREDICT:-}" ]] || rm -f "$DB" "$OUT"/*.json "$OUT"/*.txt
MODEL=(--layers 6 --dim 64 --heads 4 --seq 64)
B=8
load1() { cut -d' ' -f1 /proc/loadavg; }
read -r -a KS <<< "${PACI_KS:-4 8}"

# Predicts case $tag (schedule $1, P $2, then the spec flags) from its profile, without and with
# the co-location model.
predict_case() {
  local sched="$1" P="$2"
  shift 2
  "$PACI" predict --schedule "$sched" --stages "$P" "$@" --profile "$OUT/$tag.profile.json" \
    --db "$DB" --json --name "before: $tag" > "$OUT/$tag.alone.json"
  "$PACI" predict --schedule "$sched" --stages "$P" "$@" --profile "$OUT/$tag.profile.json" --colocate \
    --db "$DB" --json --name "before: $tag co-located" > "$OUT/$tag.coloc.json"
}

if [[ -n "${PACI_REPREDICT:-}" ]]; then
  compgen -G "$OUT/*.measured.json" > /dev/null ||
    { echo "PACI_REPREDICT: PACI_OUT '$OUT' holds no stored cases (*.measured.json) to predict again" >&2; exit 2; }
  for measured in "$OUT"/*.measured.json; do
    tag="$(basename "$measured" .measured.json)"  # <schedule>-P<P>-K<K>-r<repeat>
    sched="${tag%%-P*}"; rest="${tag#*-P}"; P="${rest%%-*}"; rest="${rest#*-K}"; K="${rest%%-*}"
    U="$UPDATES"; [[ "$sched" == pipedream ]] && U=$((4 * UPDATES))
    spec=(--accum "$K" --updates "$U"); [[ "$sched" == interleaved-1f1b ]] && spec+=(--chunks 2)
    predict_case "$sched" "$P" "${spec[@]}"
  done
fi

[[ -n "${PACI_TABLE_ONLY:-}${PACI_REPREDICT:-}" ]] || for rep in $(seq 1 "${PACI_REPEATS:-1}"); do
for sched in ${PACI_SCHEDULES:-gpipe 1f1b-flush interleaved-1f1b zb-h1 pipedream pipedream-2bw pipemare paci}; do
  for P in ${PACI_STAGES:-2 4}; do
    for K in "${KS[@]}"; do
      U="$UPDATES"
      if [[ "$sched" == pipedream ]]; then
        [[ "$K" == "${KS[0]}" ]] || continue
        K=1; U=$((4 * UPDATES))
      fi
      spec=(--accum "$K" --updates "$U")
      chunks=(); [[ "$sched" == interleaved-1f1b ]] && chunks=(--chunks 2)
      spec+=("${chunks[@]}")
      tag="$sched-P$P-K$K-r$rep"
      load_profile="$(load1)"
      "$PACI" profile "${MODEL[@]}" --microbatch-size "$B" --threads 1 --colocate "$P" --max-seconds-per-layer 1 \
        -o "$OUT/$tag.profile.json" > "$OUT/$tag.profile.txt" 2>/dev/null
      predict_case "$sched" "$P" "${spec[@]}"
      load_start="$(load1)"
      run="$("$PACI" train --schedule "$sched" --stages "$P" --accum "$K" "${chunks[@]}" "${MODEL[@]}" \
               --microbatch-size "$B" --updates "$U" --eval-batches 2 --db "$DB" --name "run: $tag" \
             | sed -n 's/^stored measured run \([0-9]*\) .*/\1/p')"
      load_end="$(load1)"
      echo "{\"profile\": $load_profile, \"start\": $load_start, \"end\": $load_end}" > "$OUT/$tag.load.json"
      # Measured numbers (the costs of this call are not used: its "measured" half is the run's).
      "$PACI" predict --run "$run" --db "$DB" --json > "$OUT/$tag.measured.json"
      echo "$tag: run $run, load $load_profile / $load_start / $load_end" >&2
    done
  done
done
done

python3 - "$OUT" "$PACI" <<'EOF'
import json, os, sqlite3, statistics, subprocess, sys
out, paci = sys.argv[1], sys.argv[2]
db = sqlite3.connect(os.path.join(out, "runs.db"))
run_ids = {name: rid for rid, name in db.execute("select id, name from runs order by id")}  # the newest per name

def compute_busy_ns(run):  # all stages' compute-lane time (lane 0)
    return db.execute("select sum(end_ns - start_ns) from ops where run = ? and lane = 0", (run,)).fetchone()[0] or 0

def kind_medians(run):  # stage -> {op kind: median ns}, as `paci compare --by-kind` computes them
    doc = json.loads(subprocess.run([paci, "compare", str(run), str(run), "--db", os.path.join(out, "runs.db"),
                                     "--json", "--by-kind"], check=True, capture_output=True, text=True).stdout)
    return [{k["kind"]: k["median_ns"] for k in s.get("kinds", [])} for s in doc["a"]["stages"]]

rows = []
op_ratios = {}  # (schedule-P, stage, op kind) -> [measured / co-located prediction, per case]
errs = {}  # (P, kind) -> |errors|
bub = {}
loads, residuals = [], {}
per_case = {}  # case without the repeat -> [co-located error, ...]
for name in sorted(os.listdir(out)):
    if not name.endswith(".measured.json"): continue
    tag = name[:-len(".measured.json")]
    measured_json = json.load(open(os.path.join(out, name)))
    m = measured_json["measured"]
    load = json.load(open(os.path.join(out, f"{tag}.load.json")))
    prof = json.load(open(os.path.join(out, f"{tag}.profile.json")))
    P = int(tag.split("-P")[1].split("-")[0])
    factor = next(c["slowdown"] for c in prof["colocation"] if c["stages"] == P)
    loads.append(max(load.values()))
    cells = [tag, f"{load['profile']:.1f} / {load['start']:.1f} / {load['end']:.1f}", f"x{factor:.2f}",
             f"{m['makespan_ms']:.0f}"]
    for kind in ("alone", "coloc"):
        p = json.load(open(os.path.join(out, f"{tag}.{kind}.json")))["predicted"]
        e = (p["makespan_ms"] - m["makespan_ms"]) / m["makespan_ms"] * 100
        errs.setdefault((P, kind), []).append(abs(e))
        if kind == "coloc": per_case.setdefault(tag.rsplit("-r", 1)[0], []).append(e)
        be = max(abs(a - b) for a, b in zip(p["stage_bubble_fraction"], m["stage_bubble_fraction"]))
        bub.setdefault((P, kind), []).append(be)
        cells += [f"{p['makespan_ms']:.0f}", f"{e:+.1f}%", f"{be:.3f}"]
    # Diagnostic (reads the run): op-speed ratio, and the makespan error left without it.
    coloc = json.load(open(os.path.join(out, f"{tag}.coloc.json")))["predicted"]
    ratio = compute_busy_ns(measured_json["measured_run"]) / compute_busy_ns(run_ids[f"before: {tag} co-located"])
    rest = (coloc["makespan_ms"] * ratio - m["makespan_ms"]) / m["makespan_ms"] * 100
    residuals.setdefault(P, []).append(abs(rest))
    cells += [f"{ratio:.2f}", f"{rest:+.1f}%"]
    group = tag.split("-K")[0]
    for s, (pk, mk) in enumerate(zip(kind_medians(run_ids[f"before: {tag} co-located"]),
                                     kind_medians(measured_json["measured_run"]))):
        for k in pk.keys() & mk.keys():
            if pk[k] > 0: op_ratios.setdefault((group, s, k), []).append(mk[k] / pk[k])
    rows.append(cells)
print("| case | load: profile / start / end | co-location at P | measured ms | alone: predicted ms | error | "
      "max stage bubble error | co-located: predicted ms | error | max stage bubble error | "
      "op time measured / co-located | error with op speed divided out |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for r in rows: print("| " + " | ".join(r) + " |")
print()
if any(len(v) > 1 for v in per_case.values()):
    print("| case | co-located error per repeat | median | spread (max - min) |")
    print("|---|---|---|---|")
    for case, es in sorted(per_case.items()):
        print(f"| {case} | {' / '.join(f'{e:+.1f}%' for e in es)} | {statistics.median(es):+.1f}% | {max(es) - min(es):.1f} |")
    print()
for P in sorted({p for p, _ in errs}):
    for kind in ("alone", "coloc"):
        e = errs[(P, kind)]
        print(f"- P = {P}, {kind}: median |makespan error| {statistics.median(e):.1f}%, max {max(e):.1f}% "
              f"({len(e)} runs); median max-stage bubble error {statistics.median(bub[(P, kind)]):.3f}")
    print(f"- P = {P}, diagnostic, op speed divided out: median |makespan error| "
          f"{statistics.median(residuals[P]):.1f}%, max {max(residuals[P]):.1f}%")
print(f"- load average (1 min) over the cases: {min(loads):.1f} .. {max(loads):.1f}, median {statistics.median(loads):.1f}")
print()
# Diagnostic (reads the runs): which ops ran slower or faster than predicted, and on which stage.
kinds = [k for k in ("F", "B", "I", "W", "OPT") if any(key[2] == k for key in op_ratios)]
print("Op time measured / co-located prediction, per stage and op kind: median over K and repeats (min - max)")
print()
print("| schedule, P | stage | " + " | ".join(kinds) + " |")
print("|---|---|" + "---|" * len(kinds))
for group, s in sorted({(g, s) for g, s, _ in op_ratios}):
    cells = []
    for k in kinds:
        r = op_ratios.get((group, s, k))
        cells.append(f"{statistics.median(r):.2f} ({min(r):.2f} - {max(r):.2f})" if r else "")
    print(f"| {group} | {s} | " + " | ".join(cells) + " |")
EOF
