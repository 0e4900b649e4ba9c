#!/usr/bin/env python3
"""Hand-made hostile input through the `paci` binary, by input class: every case is invalid, so
the only right outcome is exit 2 with a message. Prints the table of docs/hostile-input.md.

  tests/hostile/hostile_sweep.py build/tools/paci [--verbose]

Outcomes: refused (exit 2, a message on stderr), crash (signal or exit 134/139), hang (no exit
within 30 s), accepted (exit 0: a silent acceptance), other (any other exit code). Each run may
use 4 GiB of address space (an unbounded allocation then ends as "out of memory", exit 1)."""
import json
import os
import resource
import shutil
import sqlite3
import struct
import subprocess
import sys
import tempfile

PACI = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build/tools/paci")
VERBOSE = "--verbose" in sys.argv
TMP = tempfile.mkdtemp(prefix="paci-hostile-")
BAD_REALS = ["-1", "nan", "inf", "-inf", "1e300", "abc", "", "1e-400x", "0x", "1,5"]
BAD_COUNTS = ["-1", "nan", "4294967296", "18446744073709551616", "abc", "", "2.5"]


def limit_memory():
    # 4 GiB of address space: an unbounded allocation fails fast instead of swapping the machine.
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))


def run(args, env=None):
    try:
        p = subprocess.run([PACI] + args, cwd=TMP, capture_output=True, text=True, timeout=30,
                           env=dict(os.environ, **(env or {})), preexec_fn=limit_memory)
    except subprocess.TimeoutExpired:
        return "hang", ""
    if p.returncode < 0 or p.returncode in (134, 136, 139):
        return "crash", p.stderr[-300:]
    if p.returncode == 2 and p.stderr.strip():
        return "refused", p.stderr.strip().splitlines()[-1]
    if p.returncode == 0:
        return "accepted", p.stdout[-200:]
    return "other", f"exit {p.returncode}: {p.stderr.strip()[-200:]}"


def path(name):
    return os.path.join(TMP, name)


def write(name, data):
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(path(name), mode) as f:
        f.write(data)
    return path(name)


def flag_cases():
    cases = []
    for flag in ["--fwd-ms", "--bwd-ms", "--latency-us", "--bandwidth-gbps", "--message-mb", "--jitter",
                 "--straggler-factor"]:
        for v in BAD_REALS:
            cases.append(["simulate", "--schedule", "paci", "--stages", "2", flag, v, "--no-db"])
    for flag in ["--stages", "--microbatches", "--accum", "--chunks"]:
        for v in BAD_COUNTS:
            kind = "interleaved-1f1b" if flag == "--chunks" else "paci"
            cases.append(["simulate", "--schedule", kind, "--stages", "2", flag, v, "--no-db"] if flag != "--stages"
                         else ["simulate", "--schedule", kind, flag, v, "--no-db"])
    cases += [["simulate", "--schedule", "gpipe", "--stages", "1", "--microbatches", "100000000", "--no-db"],
              ["simulate", "--schedule", "paci", "--stages", "5000", "--no-db"],
              ["simulate", "--schedule", "paci", "--stages", "2", "--straggler-factor", "2", "--no-db"],
              ["simulate", "--schedule", "nosuch", "--no-db"],
              ["sweep", "--stages", "2..100000", "--no-db"], ["sweep", "--accum", "1..1e9", "--no-db"],
              ["sweep", "--stages", "0", "--no-db"], ["sweep", "--schedules", "paci", "--stages", "4096",
                                                     "--microbatches", "100000000", "--no-db"]]
    tiny = {"--updates": "1", "--layers": "1", "--dim": "16", "--heads": "2", "--seq": "8", "--eval-batches": "1"}
    for flag in ["--lr", "--min-lr-frac", "--grad-clip", "--weight-decay", "--microbatch-size", "--accum",
                 "--updates", "--seq", "--dim", "--heads", "--layers", "--vocab", "--eval-batches"]:
        base = [x for k, v in tiny.items() if k != flag for x in (k, v)]
        for v in ["nan", "inf"] if flag == "--grad-clip" else ["-1", "nan", "inf", "1e30"]:
            cases.append(["train", flag, v] + base)
    cases += [["train", "--schedule", "paci", "--stages", "2", "--microbatch-size", "0", "--no-db"],
              ["train", "--schedule", "paci", "--stages", "2", "--lr", "inf", "--no-db"],
              ["train", "--schedule", "paci", "--stages", "2", "--resume", "x.safetensors", "--no-db"],
              ["train", "--schedule", "paci", "--stages", "99", "--no-db"],
              ["train", "--dim", "1048576", "--heads", "1", "--updates", "1"]]
    return cases


def schedule_file_cases():
    good = {}
    for fmt, ext in [("text", "txt"), ("csv", "csv"), ("json", "json"), ("proto", "pb")]:
        out = path(f"good.{ext}")
        subprocess.run([PACI, "schedule", "--schedule", "1f1b-flush", "--stages", "2", "--accum", "2", "--microbatches", "2",
                        "--format", fmt, "-o", out], check=True)
        good[ext] = open(out, "rb").read()
    cases = []
    j = json.loads(good["json"])
    for mutate in [lambda d: d["spec"].update(total_microbatches="18446744073709551615"),
                   lambda d: d["spec"].update(stages=4294967295),
                   lambda d: d["spec"].update(kind=99),
                   lambda d: d["streams"][0]["body"][0].update(kind=77),
                   lambda d: d["streams"][0]["body"][0].update(stage=4000000000),
                   lambda d: d["streams"][0].update(weight_policy=42),
                   lambda d: d["streams"][0].update(body_repeats="18446744073709551615"),
                   lambda d: d.update(ir_version=999),
                   lambda d: d["streams"].pop(),
                   lambda d: d["streams"][1]["body"].reverse()]:
        d = json.loads(good["json"])
        mutate(d)
        cases.append(write(f"m{len(cases)}.json", json.dumps(d)))
    text = good["txt"].decode()
    for t in [text.replace("total=2", "total=18446744073709551615", 1), text[: len(text) // 2],
              text.replace("1F1", "1F0"), text.replace("0F1", "0X1"), "(0F1 0B1)x18446744073709551615+1\n",
              "spec kind=gpipe P=4294967295\n", "\x00\xff" * 10, "", text.replace("\n", " ", 3)]:
        cases.append(write(f"m{len(cases)}.txt", t))
    for c in ["0F0\n", "0F0,1F0\n0B0\n", "0F99999999999999999999\n", "9999F0\n", "0SEND_F0\n", "0F-1\n",
              "\"0F0\n", "0FOO0\n"]:
        cases.append(write(f"m{len(cases)}.csv", c))
    pb = good["pb"]
    for i in range(0, len(pb), max(1, len(pb) // 12)):
        b = bytearray(pb)
        b[i] ^= 0xff
        cases.append(write(f"m{len(cases)}.pb", bytes(b)))
    cases.append(write(f"m{len(cases)}.pb", pb[: len(pb) // 2]))
    return [["schedule", "--input", c] for c in cases] + [["simulate", "--input", c, "--no-db"] for c in cases]


def cost_file_cases():
    docs = ['{"stages": [{"fwd_ms": 1e300}]}', '{"stages": [{"fwd_ms": -1}]}', '{"stages": [{"fwd_ms": 1e400}]}',
            '{"stages": [{"fwd_ms": "x"}]}', '{"stages": []}', '{"stages": [{"fwd_ms": 1}], "jitter": {"cv": 1e10}}',
            '{"stages": [{"fwd_ms": 1}], "jitter": {"cv": -1}}',
            '{"stages": [{"fwd_ms": 1}], "jitter": {"straggler_factor": 1e308, "straggler_stage": 0}}',
            '{"stages": [{"fwd_ms": 1}], "links": [{"bandwidth_gbps": 1e-300}], "stages": [{"message_mb": 1}]}',
            '{"stages": [{"fwd_ms": 1, "activation_mb": 1e300}]}', '{"stages": [{"fwd_ms": 1}], "unknown": 1}',
            '{"stages": [{"fwd_ms": 1}], "links": [{}, {}, {}, {}, {}]}', "stages { forward_ns: -5 }",
            "stages { forward_ns: 9223372036854775807 }", "stages { nosuch: 1 }", "{", "[1, 2]", "null"]
    return [["simulate", "--schedule", "paci", "--stages", "2", "--cost", write(f"c{i}.json", d), "--no-db"]
            for i, d in enumerate(docs)]


def checkpoint_cases():
    ck = path("ck.safetensors")
    subprocess.run([PACI, "train", "--layers", "1", "--dim", "16", "--heads", "2", "--seq", "8", "--updates", "1",
                    "--eval-batches", "1", "--save", ck], check=True, capture_output=True)
    raw = open(ck, "rb").read()
    hlen = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + hlen])
    variants = [raw[:4], raw[:100], struct.pack("<Q", 1 << 62) + raw[8:], b"\0" * 8 + raw[8:], raw[:-4]]
    for change in [lambda h: h["__metadata__"].update({"paci.config": "{bad"}),
                   lambda h: h.update({"__metadata__": 5}),
                   lambda h: next(v for k, v in h.items() if k != "__metadata__").update(shape=[-1, 3]),
                   lambda h: next(v for k, v in h.items() if k != "__metadata__").update(data_offsets=[0, 1 << 60]),
                   lambda h: next(v for k, v in h.items() if k != "__metadata__").update(dtype="F16")]:
        h = json.loads(json.dumps(header))
        change(h)
        hb = json.dumps(h).encode()
        variants.append(struct.pack("<Q", len(hb)) + hb + raw[8 + hlen:])
    optim = open(path("ck.optim.safetensors"), "rb").read()
    cases = []
    for i, v in enumerate(variants):
        d = os.path.join(TMP, f"ck{i}")
        os.makedirs(d, exist_ok=True)
        open(os.path.join(d, "w.safetensors"), "wb").write(v)
        open(os.path.join(d, "w.optim.safetensors"), "wb").write(optim)
        cases.append(os.path.join(d, "w.safetensors"))
    for i, step in enumerate(["-1", "abc", "99999999999999999999"]):
        oh_len = struct.unpack("<Q", optim[:8])[0]
        oh = json.loads(optim[8:8 + oh_len])
        oh["__metadata__"]["paci.adamw_step"] = step
        ob = json.dumps(oh).encode()
        d = os.path.join(TMP, f"cko{i}")
        os.makedirs(d, exist_ok=True)
        open(os.path.join(d, "w.safetensors"), "wb").write(raw)
        open(os.path.join(d, "w.optim.safetensors"), "wb").write(struct.pack("<Q", len(ob)) + ob + optim[8 + oh_len:])
        cases.append(os.path.join(d, "w.safetensors"))
    return [["train", "--layers", "1", "--dim", "16", "--heads", "2", "--seq", "8", "--updates", "2",
             "--eval-batches", "1", "--resume", c] for c in cases]


def data_cases():
    files = [write("odd.bin", b"\1\2\3"), write("big.bin", struct.pack("<H", 60000) * 64),
             write("hdr.bin", struct.pack("<iii", 20240520, 1, 1 << 30) + b"\0" * 1012),
             write("hdrneg.bin", struct.pack("<iii", 20240520, 1, -5) + b"\0" * 1012),
             write("hdrver.bin", struct.pack("<iii", 20240520, 7, 0) + b"\0" * 1012),
             write("tiny.txt", "ab"), write("empty.txt", "")]
    cases = [["train", "--data", f, "--updates", "1", "--layers", "1", "--dim", "16", "--heads", "2", "--seq",
              "8", "--eval-batches", "1"] for f in files]
    cases += [["train", "--schedule", "paci", "--stages", "2", "--data", path("tiny.txt"), "--no-db"],
              ["train", "--data", path("nosuch.txt"), "--updates", "1"]]
    return cases


def trace_cases():
    db = path("t.db")
    subprocess.run([PACI, "simulate", "--schedule", "gpipe", "--stages", "2", "--db", db], check=True,
                   capture_output=True)
    out = path("t.json")
    subprocess.run([PACI, "export", "--run", "1", "--db", db, "-o", out], check=True)
    base = json.load(open(out))
    cases = []
    for key, value in [("stage", 4294967295), ("stage", 2), ("stage", -1), ("chunk", 77), ("end_ns", -5),
                       ("start_ns", 9223372036854775807), ("kind", "ZZ"), ("op_id", "x"), ("micro_batch", -3)]:
        d = json.loads(json.dumps(base))
        for e in d["traceEvents"]:
            if e.get("ph") == "X" and "op_id" in e.get("args", {}):
                e["args"][key] = value
        cases.append(write(f"t{len(cases)}.json", json.dumps(d)))
    d = json.loads(json.dumps(base))
    for e in d["traceEvents"]:
        if e.get("ph") == "X":
            e["args"].pop("start_ns", None)
            e["args"].pop("end_ns", None)
            e["ts"] = 1e300
    cases.append(write(f"t{len(cases)}.json", json.dumps(d)))
    d = json.loads(json.dumps(base))
    stream = d["metadata"]["paci"]["run"]["schedule"]["streams"][0]
    (stream.get("prefix") or stream["body"])[0]["kind"] = 99
    cases.append(write(f"t{len(cases)}.json", json.dumps(d)))
    d = json.loads(json.dumps(base))
    d["metadata"]["paci"]["memory"] = [[4294967295, 0, 1]]
    cases.append(write(f"t{len(cases)}.json", json.dumps(d)))
    for junk in ["", "{}", "[]", '{"traceEvents": 5}', '{"traceEvents": [{"ph": "X", "args": {"op_id": 1}}]}']:
        cases.append(write(f"t{len(cases)}.json", junk))
    return [["import", c, "--db", path(f"imp{i}.db")] for i, c in enumerate(cases)]


def store_cases():
    foreign = path("foreign.db")
    c = sqlite3.connect(foreign)
    c.execute("PRAGMA journal_mode=WAL")
    c.execute("CREATE TABLE t(x)")
    c.commit()
    c.close()
    empty = path("empty.db")
    sqlite3.connect(empty).close()
    c = sqlite3.connect(empty)
    c.execute("VACUUM")
    c.close()
    newer = path("newer.db")
    subprocess.run([PACI, "simulate", "--schedule", "gpipe", "--stages", "2", "--db", newer], check=True,
                   capture_output=True)
    c = sqlite3.connect(newer)
    c.execute("PRAGMA user_version = 999")
    c.commit()
    c.close()
    damaged = path("damaged.db")
    for _ in range(3):
        subprocess.run([PACI, "simulate", "--schedule", "gpipe", "--stages", "4", "--microbatches", "64", "--db",
                        damaged], check=True, capture_output=True)
    b = bytearray(open(damaged, "rb").read())
    b[2 * 4096 + 16:3 * 4096] = b"\x5a" * (4096 - 16)
    open(damaged, "wb").write(bytes(b))
    text = write("text.db", "hello")
    cases = []
    for db in [foreign, newer, damaged, text]:
        cases += [["simulate", "--schedule", "gpipe", "--stages", "2", "--db", db],
                  ["import", path("t.json"), "--db", db], ["runs", "delete", "1", "--db", db]]
    for db in [foreign, text, path("missing.db")]:
        cases += [["runs", "list", "--db", db], ["runs", "show", "1", "--db", db], ["compare", "1", "2", "--db", db],
                  ["export", "--run", "1", "--db", db]]
    cases += [["runs", "show", "99", "--db", newer.replace("newer", "t")], ["compare", "1", "99", "--db", path("t.db")],
              ["predict", "--run", "1", "--db", path("t.db")]]
    return cases


CLASSES = [("flags", flag_cases), ("schedule files (text, CSV, JSON, proto)", schedule_file_cases),
           ("cost files", cost_file_cases), ("checkpoints (--resume)", checkpoint_cases),
           ("data files (--data)", data_cases), ("imported traces", trace_cases), ("stores (--db)", store_cases)]


def main():
    print("| input class | cases tried | refused cleanly | crashes | hangs | silent acceptances | other |")
    print("|---|---|---|---|---|---|---|")
    total = {}
    try:
        for name, make in CLASSES:
            counts = {"refused": 0, "crash": 0, "hang": 0, "accepted": 0, "other": 0}
            for args in make():
                outcome, detail = run(args)
                counts[outcome] += 1
                if VERBOSE or outcome != "refused":
                    print(f"  {outcome}: paci {' '.join(args)}\n    {detail}", file=sys.stderr)
            n = sum(counts.values())
            print(f"| {name} | {n} | {counts['refused']} | {counts['crash']} | {counts['hang']} | "
                  f"{counts['accepted']} | {counts['other']} |")
            for k, v in counts.items():
                total[k] = total.get(k, 0) + v
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
    return 0 if total.get("crash", 0) + total.get("hang", 0) == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
