#!/usr/bin/env python3
"""Runs every shell command a Markdown file shows, so a renamed or re-meant flag breaks a test.

The commands are the lines of its ```sh (or bash, shell) blocks. Each file runs in a fresh
temporary copy of the repository with `build` linked to the real build; the rules and markers are
in tests/docs/README.md. Usage: run_doc_commands.py --repo ROOT --build BUILD FILE.md [--list]
"""
import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

SHELL_LANGS = {"sh", "bash", "shell"}
FENCE = re.compile(r"^```(\w*)\s*$")
MARKER = re.compile(r"^<!--\s*doc-test:\s*(.*?)\s*-->", re.S | re.M)  # at a line start, not in prose
EXPECTED_EXIT = re.compile(r"#.*\bexits? (\d+)\b")
ASSIGNMENT = re.compile(r"^(export\s+)?[A-Za-z_][A-Za-z0-9_]*=\S*$|^(export\s+)?[A-Za-z_][A-Za-z0-9_]*=\"[^\"]*\"$")
COMMAND_TIMEOUT_S = 300


class Block:
    def __init__(self, line, text, markers):
        self.line = line          # 1-based line of the opening fence
        self.text = text
        self.markers = markers    # list of marker strings written above the block


def read_blocks(path):
    """Shell blocks of a Markdown file, each with the doc-test markers between it and the block before."""
    lines = open(path, encoding="utf-8").read().split("\n")
    blocks, prose, i = [], [], 0
    while i < len(lines):
        fence = FENCE.match(lines[i])
        if not fence:
            prose.append(lines[i])
            i += 1
            continue
        start, body = i, []
        i += 1
        while i < len(lines) and not lines[i].startswith("```"):
            body.append(lines[i])
            i += 1
        i += 1
        markers = MARKER.findall("\n".join(prose))
        prose = []
        if fence.group(1) in SHELL_LANGS:
            blocks.append(Block(start + 1, "\n".join(body), markers))
        elif markers:
            raise SystemExit(f"{path}:{start + 1}: doc-test marker above a block that is not sh/bash/shell")
    if MARKER.search("\n".join(prose)):
        raise SystemExit(f"{path}: doc-test marker after the last shell block")
    return blocks


def parse_markers(path, block):
    """Returns (substitutions, not_run_reason, timeout) from a block's markers; bad markers stop the test."""
    subs, reason, timeout = [], None, COMMAND_TIMEOUT_S
    for marker in block.markers:
        words = shlex.split(marker)
        where = f"{path}:{block.line}: doc-test marker '{marker}'"
        if len(words) == 3 and words[0] == "short":
            subs.append((words[1], words[2]))
        elif len(words) == 2 and words[0] == "not-run":
            reason = words[1]
        elif len(words) == 2 and words[0] == "timeout" and words[1].isdigit():
            timeout = int(words[1])
        else:
            raise SystemExit(f"{where}: expected short \"OLD\" \"NEW\", not-run \"REASON\" or timeout SECONDS")
    return subs, reason, timeout


def split_commands(text):
    """Complete shell commands (continuations and loops joined), comment-only lines dropped."""
    commands, pending = [], []
    for line in text.split("\n"):
        if not pending and (not line.strip() or line.strip().startswith("#")):
            continue
        pending.append(line)
        candidate = "\n".join(pending)
        if candidate.endswith("\\"):
            continue
        if subprocess.run(["bash", "-n", "-c", candidate], capture_output=True).returncode == 0:
            commands.append(candidate)
            pending = []
    if pending:
        commands.append("\n".join(pending))  # incomplete: bash reports it when run
    return commands


def built_without(build, part, library):
    """Whether this build lacks an optional part: configured off, or its library was not made."""
    try:
        with open(os.path.join(build, "CMakeCache.txt")) as cache:
            if any(line.strip() == f"PACI_WITH_{part}:STRING=OFF" for line in cache):
                return True
    except OSError:
        pass
    return not os.path.exists(os.path.join(build, library))


def missing_requirement(command, build):
    """Why this machine cannot run the command, or None."""
    if re.search(r"\bmpirun\b", command) and not shutil.which("mpirun"):
        return "needs mpirun"
    # paci says so itself (exit 2 naming the CMake option); the documented command is not wrong.
    if re.search(r"--transport (mpi|nccl)\b", command) and built_without(build, "MPI", "exec/libpaci_exec_mpi.a"):
        return "needs a build with MPI (-DPACI_WITH_MPI=ON)"
    if re.search(r"--device cuda", command) and built_without(build, "CUDA", "exec/cuda/libpaci_exec_cuda.a"):
        return "needs a build with CUDA (-DPACI_WITH_CUDA=ON)"
    if re.search(r"\bsrun\b", command) and not shutil.which("srun"):
        return "needs Slurm (srun)"
    if re.search(r"--device cuda|nvidia-smi", command):
        smi = shutil.which("nvidia-smi")
        if not smi or subprocess.run([smi, "-L"], capture_output=True).returncode != 0:
            return "needs a CUDA GPU"
    if "paci-viewer" in command:
        if not os.path.exists(os.path.join(build, "gui", "paci-viewer")):
            return "needs the Qt viewer (not built)"
        if not re.search(r"--screenshot|--bench", command):
            return "opens an interactive window (add a doc-test short marker with --screenshot)"
    return None


def copy_repository(repo, build):
    """A scratch copy of the tracked files, with build/ linked to the real build."""
    root = tempfile.mkdtemp(prefix="paci-doc-")
    listed = subprocess.run(["git", "-C", repo, "ls-files", "-z"], capture_output=True)
    if listed.returncode == 0:
        for name in filter(None, listed.stdout.decode().split("\0")):
            target = os.path.join(root, name)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            if os.path.lexists(os.path.join(repo, name)):
                shutil.copy2(os.path.join(repo, name), target, follow_symlinks=False)
    else:
        shutil.copytree(repo, root, dirs_exist_ok=True, symlinks=True,
                        ignore=shutil.ignore_patterns(".git", "build", "build-*", "*.db-wal", "*.db-shm"))
    os.symlink(os.path.abspath(build), os.path.join(root, "build"))
    return root


def run_command(command, state, cwd, timeout):
    """Runs one command after the block's earlier assignments and cd lines; returns (exit code, output)."""
    script = "\n".join(state + [command])
    try:
        done = subprocess.run(["bash", "-c", script], cwd=cwd, capture_output=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, env=dict(os.environ, QT_QPA_PLATFORM="offscreen"))
        return done.returncode, (done.stdout + done.stderr).decode(errors="replace")
    except subprocess.TimeoutExpired as e:
        out = ((e.stdout or b"") + (e.stderr or b"")).decode(errors="replace")
        return None, out + f"\n(killed after {timeout} s)"


def tail(text, lines=15):
    return "\n".join("    | " + l for l in text.rstrip().split("\n")[-lines:])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repo", required=True)
    parser.add_argument("--build", required=True)
    parser.add_argument("--list", action="store_true", help="print the commands, substituted, without running")
    parser.add_argument("markdown")
    args = parser.parse_args()
    repo = os.path.abspath(args.repo)
    path = os.path.relpath(os.path.abspath(args.markdown), repo)
    blocks = read_blocks(os.path.join(repo, path))
    cwd = None if args.list else copy_repository(repo, args.build)
    passed = failed = not_run = 0
    state = []  # assignments and cd lines seen so far: later blocks of a file use the earlier ones' P=...
    for block in blocks:
        subs, reason, timeout = parse_markers(path, block)
        text = block.text
        for old, new in subs:
            if old not in text:
                print(f"FAIL {path}:{block.line}: marker short \"{old}\": not in the block (stale marker)")
                failed += 1
            text = text.replace(old, new)
            print(f"{path}:{block.line}: substituted \"{old}\" -> \"{new}\"")
        for command in split_commands(text):
            first, more = command.split("\n")[0], "\n" in command
            label = f"{path}:{block.line}: {first}{' ...' if more else ''}"
            if ASSIGNMENT.match(command.strip()) or re.match(r"^cd\s", command.strip()):
                state.append(command)
                continue
            why = reason or missing_requirement(command, args.build)
            if why or args.list:
                print(f"NOT RUN {label}\n    ({why})" if why else f"LIST {label}")
                not_run += 1 if why else 0
                continue
            expected = EXPECTED_EXIT.search(command)
            want = int(expected.group(1)) if expected else 0
            start = time.monotonic()
            code, out = run_command(command, state, cwd, timeout)
            took = time.monotonic() - start
            if code == want:
                print(f"ok ({took:.1f} s, exit {code}) {label}")
                passed += 1
            else:
                print(f"FAIL ({took:.1f} s, exit {code}, expected {want}) {label}\n{tail(out)}")
                failed += 1
    if cwd:
        shutil.rmtree(cwd, ignore_errors=True)
    print(f"{path}: {passed} passed, {failed} failed, {not_run} not run")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
