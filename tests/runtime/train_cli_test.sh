#!/usr/bin/env bash
# Pipelined `paci train` as a user runs it: --save after 20 updates then --resume for 20 more equals
# 40 straight updates bit for bit (stored losses, %.17g) for every flush schedule; PACI's resumed
# run follows the segment rule (exec/README.md): the first segment equals the straight run's first
# 20 updates, the second restarts the pipeline from the drained point; --eval-every stores
# validation losses; the partition is printed and stored; inapplicable flags exit 2 naming the
# flag. Usage: train_cli_test.sh PACI_BINARY
set -euo pipefail
PACI="$1"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
for i in $(seq 1 300); do echo "pipeline stage $((i % 7)) keeps its own optimizer and steps after every K-th backward."; done > corpus.txt
MODEL=(--layers 2 --dim 32 --heads 2 --seq 16 --microbatch-size 2 --threads 1 --data corpus.txt --lr 0.003
       --warmup 2 --eval-batches 2)
fail() { echo "FAIL: $*"; exit 1; }
losses() { sqlite3 "$1" "select idx || ' ' || printf('%.17g', loss) from updates where run = $2 order by idx"; }

for s in gpipe 1f1b-flush interleaved-1f1b zb-h1 paci; do
  extra=(); [[ $s == interleaved-1f1b ]] && extra=(--chunks 2)
  run=(train --schedule "$s" --stages 2 --accum 2 "${extra[@]}" "${MODEL[@]}" --db "$s.db")
  "$PACI" "${run[@]}" --updates 40 > straight.out
  "$PACI" "${run[@]}" --updates 20 --decay-updates 40 --save "ck.$s.safetensors" > first.out
  "$PACI" "${run[@]}" --updates 40 --resume "ck.$s.safetensors" > second.out
  grep -q "^saved ck.$s.safetensors" first.out || fail "$s: --save printed nothing"
  grep -q "^resuming ck.$s.safetensors at update 20" second.out || fail "$s: --resume printed nothing"
  losses "$s.db" 1 > straight.loss
  (losses "$s.db" 2; losses "$s.db" 3) > resumed.loss
  [[ $(wc -l < straight.loss) -eq 40 && $(wc -l < resumed.loss) -eq 40 ]] || fail "$s: expected 40 updates each"
  if [[ $s == paci ]]; then
    diff <(head -20 straight.loss) <(head -20 resumed.loss) > /dev/null || fail "paci: first segment differs"
    if diff straight.loss resumed.loss > /dev/null; then fail "paci: the resumed segment should restart the pipeline"; fi
    echo "ok: paci: updates 1-20 equal the straight run's; 21-40 restart the pipeline from update 20"
  else
    diff straight.loss resumed.loss || fail "$s: 20 + 20 resumed updates differ from 40 straight"
    echo "ok: $s: 20 + 20 resumed updates equal 40 straight, bit for bit"
  fi
done

"$PACI" train --schedule paci --stages 2 --accum 2 --updates 40 --eval-every 10 "${MODEL[@]}" --db eval.db > eval.out
[[ $(sqlite3 eval.db "select group_concat(idx) from updates where val_loss is not null") == "10,20,30,40" ]] ||
  fail "--eval-every 10: validation losses stored at $(sqlite3 eval.db "select group_concat(idx) from updates where val_loss is not null")"
grep -q "^update    10 | .* | val " eval.out || fail "--eval-every: no val on the update line"
diff <(losses paci.db 1) <(losses eval.db 1) || fail "--eval-every changed the training losses"
echo "ok: --eval-every 10 stores validation losses at updates 10,20,30,40; training losses unchanged, bit for bit"

grep -q "^partition .* 0:\[0,2) 1:\[2,4)" eval.out || fail "partition not printed"
sqlite3 eval.db "select description from runs" | grep -q '"partition":\[{"last":2},{"first":2,"last":4}\]' || fail "partition not stored"
echo "ok: partition printed and stored"

expect2() {  # expect2 FLAG ARGS...: exit code 2 and a message naming FLAG
  local flag="$1"; shift
  set +e; "$PACI" "$@" > out.txt 2> err.txt; local rc=$?; set -e
  [[ $rc -eq 2 ]] || fail "$* exited $rc, expected 2"
  grep -q -- "$flag" err.txt || fail "$*: message does not name $flag: $(cat err.txt)"
  echo "ok: exit 2 naming $flag: $(head -1 err.txt)"
}
expect2 --stages train "${MODEL[@]}" --stages 2
expect2 --no-db train "${MODEL[@]}" --no-db
expect2 --precision train --schedule paci --stages 2 "${MODEL[@]}" --precision bf16
expect2 --device train --schedule paci --stages 2 "${MODEL[@]}" --device tpu
expect2 --resume train --schedule paci --stages 2 "${MODEL[@]}" --resume missing.safetensors
expect2 --resume train --schedule paci --stages 2 "${MODEL[@]}" --updates 10 --resume ck.paci.safetensors
expect2 --transport train --schedule paci --stages 2 "${MODEL[@]}" --transport nccl
echo "all passed"
