#!/usr/bin/env python3
"""The include-layering check: fails when a file includes what its folder's layer may not see.

The layers (docs/architecture.md): proto at the bottom; sched on proto; sim and exec on sched;
store on proto alone; study on the engines and the store; tools/ and gui/ on top, side by side.
Third-party headers belong to one layer each: SQLite to store/, Qt to gui/ and plot/, CUDA and
NCCL to exec/cuda/, MPI to exec/. Tests may include anything.

  scripts/check-layering.py [--root DIR]     exit 0 clean, 1 with one line per violation
"""
import argparse
import pathlib
import re
import subprocess
import sys

# The project folders each folder may include from (its own folder is always allowed).
ALLOWED = {
    "proto": set(),
    "sched": {"proto"},
    "sim": {"proto", "sched"},
    "exec": {"proto", "sched"},
    "store": {"proto"},
    "study": {"proto", "sched", "sim", "exec", "store"},
    "plot": {"proto"},
    "tools": {"proto", "sched", "sim", "exec", "store", "study", "plot"},
    "gui": {"proto", "sched", "sim", "store", "study", "plot"},
    "bench": {"proto", "sched", "sim", "exec", "store", "study"},
}

# Narrower rules inside a layer: (folder or file prefix, included prefix, the files allowed to).
# The viewer reaches the simulator through one door, gui/model/sim_backend.h.
DOORS = [
    ("gui/", "sim/", ("gui/model/sim_backend.h", "gui/model/sim_backend_paci.cc")),
    ("exec/", "exec/cuda/", ("exec/cuda/",)),
]

# Third-party headers (by include-name prefix) and the folders that may include them.
THIRD_PARTY = [
    (re.compile(r"sqlite3\.h$"), ("store/",)),
    (re.compile(r"^Q[A-Za-z]+$|^Qt[A-Za-z]+/"), ("gui/", "plot/")),
    (re.compile(r"^(cuda|cublas|curand|nccl)[A-Za-z_]*\.h$"), ("exec/cuda/",)),
    (re.compile(r"^mpi\.h$"), ("exec/",)),
]

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
SOURCE_ENDINGS = (".h", ".cc", ".cu", ".cuh", ".cpp", ".hpp")


def tracked_sources(root):
    """The files git tracks; outside a checkout (a tarball, the docs tests' copy) the layers' folders."""
    out = subprocess.run(["git", "-C", str(root), "ls-files"], capture_output=True, text=True)
    if out.returncode == 0 and (root / ".git").exists():
        files = out.stdout.splitlines()
    else:
        files = [str(p.relative_to(root)) for layer in ALLOWED for p in (root / layer).rglob("*") if p.is_file()]
    return sorted(p for p in files if p.endswith(SOURCE_ENDINGS))


def violations_in(path, text):
    layer = path.split("/", 1)[0]
    if layer not in ALLOWED:
        return  # tests/, fuzzers and generated code may include anything
    for number, line in enumerate(text.splitlines(), 1):
        m = INCLUDE.match(line)
        if not m:
            continue
        quoted, name = m.group(1) == '"', m.group(2)
        where = f"{path}:{number}: "
        if quoted and "/" in name:
            target = name.split("/", 1)[0]
            if target in ALLOWED and target != layer and target not in ALLOWED[layer]:
                yield where + f'{layer}/ may not include "{name}" ({layer}/ sees {sorted(ALLOWED[layer]) or "nothing"})'
            for inside, prefix, allowed in DOORS:
                if path.startswith(inside) and name.startswith(prefix) and not path.startswith(allowed):
                    yield where + f'"{name}" is reached only from {", ".join(allowed)}'
        else:
            for pattern, owners in THIRD_PARTY:
                if pattern.search(name) and not path.startswith(owners):
                    yield where + f"<{name}> belongs to {', '.join(owners)} only"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=pathlib.Path(__file__).resolve().parent.parent, type=pathlib.Path)
    args = parser.parse_args()
    found, files = [], tracked_sources(args.root)
    for path in files:
        text = (args.root / path).read_text(encoding="utf-8", errors="replace")
        found.extend(violations_in(path, text))
    for line in found:
        print(line)
    print(f"check-layering: {len(files)} files, {len(found)} violation(s)", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
