#!/usr/bin/env python3
"""Where a run's time goes, read from its trace in a PACI store (a measured run or a prediction).

For each run it prints: the makespan; start-up, the first update's time beyond the mean of the
later ones (stage 0's optimizer steps mark the updates); the share of the makespan with 0, 1, 2,
... compute ops in progress at once; the CPU slots they cover (each op holding at most one of
--cpus); and, for a measured run, the slot time lost while a stage whose message had arrived had
not yet resumed although a slot was free (a woken stage waiting for the scheduler). With more
stages than CPUs, more ops in progress than CPUs means time slices: some of them wait.

  python3 bench/run_timeline.py DB [--cpus N] [RUN ...]

RUN is a run id or a part of run names (SQL LIKE, e.g. 'run: paci-P4%'); none: every run.
"""
import argparse
import os
import sqlite3
import sys

FORWARD, BACKWARD, B_INPUT, B_WEIGHT = 1, 2, 3, 4
SEND_ACT, RECV_ACT, SEND_GRAD, RECV_GRAD, OPTIMIZER = 5, 6, 7, 8, 9
COMPUTE_LANE = 0


def fail(message):
    print(f"run_timeline: {message}", file=sys.stderr)
    sys.exit(2)


def message_arrivals(ops, stages):
    """(kind, receiving stage, chunk, micro-batch) -> when the sender's send ended."""
    arrive = {}
    for stage, chunk, mb, kind, _lane, _start, end in ops:
        v = chunk * stages + stage  # virtual stage: interleaved schedules wrap around
        if kind == SEND_ACT:
            arrive[(RECV_ACT, (v + 1) % stages, (v + 1) // stages, mb)] = end
        elif kind == SEND_GRAD:
            arrive[(RECV_GRAD, (v - 1) % stages, (v - 1) // stages, mb)] = end
    return arrive


def timeline(db, run, cpus):
    stages = db.execute("select max(stage) + 1 from ops where run = ?", (run,)).fetchone()[0]
    ops = db.execute("select stage, chunk, micro_batch, kind, lane, start_ns, end_ns from ops where run = ?",
                     (run,)).fetchall()
    t0, t1 = min(o[5] for o in ops), max(o[6] for o in ops)
    arrive = message_arrivals(ops, stages)
    events = []  # (time, change in ops in progress, change in woken stages waiting)
    for stage, chunk, mb, kind, lane, start, end in ops:
        if lane == COMPUTE_LANE and kind in (FORWARD, BACKWARD, B_INPUT, B_WEIGHT, OPTIMIZER):
            events += [(start, 1, 0), (end, -1, 0)]
        arrival = arrive.get((kind, stage, chunk, mb))
        if arrival is not None and end > max(start, arrival):
            events += [(max(start, arrival), 0, 1), (end, 0, -1)]
    events.sort()
    share, lost = {}, 0
    busy = waiting = 0
    last = t0
    for t, d_busy, d_wait in events:
        share[busy] = share.get(busy, 0) + t - last
        if busy < cpus and waiting:
            lost += (t - last) * min(waiting, cpus - busy)
        busy, waiting, last = busy + d_busy, waiting + d_wait, t
    span = t1 - t0
    steps = [e for (e,) in db.execute(
        "select end_ns from ops where run = ? and stage = 0 and kind = ? order by end_ns", (run, OPTIMIZER))]
    startup = None
    if len(steps) >= 3:
        later = (steps[-1] - steps[0]) / (len(steps) - 1)
        startup = (steps[0] - t0) - later
    covered = sum(min(n, cpus) * v for n, v in share.items()) / (cpus * span)
    return span, startup, {n: v / span for n, v in sorted(share.items())}, covered, lost / (cpus * span)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("db")
    ap.add_argument("runs", nargs="*", help="run ids or parts of run names (SQL LIKE)")
    ap.add_argument("--cpus", type=int, default=os.cpu_count(), help="CPU slots (default: this machine's)")
    a = ap.parse_intermixed_args()
    if a.cpus is None or a.cpus < 1:
        fail(f"--cpus: must be >= 1, got {a.cpus}")
    if not os.path.isfile(a.db):
        fail(f"{a.db}: no such store file")
    db = sqlite3.connect(f"file:{a.db}?mode=ro", uri=True)
    try:
        names = dict(db.execute("select id, name from runs order by id"))
    except sqlite3.DatabaseError as e:
        fail(f"{a.db}: not a PACI store ({e})")
    chosen = []
    for r in a.runs or ["%"]:
        if r.isdigit():
            if int(r) not in names:
                fail(f"{a.db}: no run {r}")
            chosen.append(int(r))
        else:
            chosen += [i for (i,) in db.execute("select id from runs where name like ? order by id", (r,))]
    for run in chosen:
        if not db.execute("select 1 from ops where run = ? limit 1", (run,)).fetchone():
            continue  # a run without a trace (failed early, or metrics only)
        span, startup, share, covered, lost = timeline(db, run, a.cpus)
        start = f"{startup / 1e6:5.1f} ms" if startup is not None else "    -   "
        inprog = " ".join(f"{n}:{v:.2f}" for n, v in share.items())
        print(f"{run:5d} {names[run][:48]:48s} makespan {span / 1e6:7.1f} ms  start-up {start}  "
              f"ops in progress {inprog}  slots covered {covered:.2f}  lost to waking {lost:.3f}")


if __name__ == "__main__":
    main()
