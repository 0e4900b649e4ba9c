#!/usr/bin/env bash
# The format check: every C++ file changed since the recorded base (.ci/format-base, a commit) must
# be as clang-format (.clang-format) writes it. A ratchet: files nobody touched keep their history;
# a file that changes once gets formatted whole.
#   scripts/check-format.sh [--base REV] [--fix]    exit 0 clean, 1 naming each unformatted file
set -euo pipefail
cd "$(dirname "$0")/.."
# 77 (ctest's skip): a source tarball has no history to compare against.
git rev-parse --git-dir > /dev/null 2>&1 || { echo "check-format.sh: not a git checkout, nothing to compare" >&2; exit 77; }
base="$(cat .ci/format-base)"
fix=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --base) [[ $# -ge 2 ]] || { echo "check-format.sh: --base needs a revision" >&2; exit 2; }; base="$2"; shift 2 ;;
    --fix) fix=1; shift ;;
    *) echo "check-format.sh: unknown option '$1' (use --base REV, --fix)" >&2; exit 2 ;;
  esac
done
# One version, because each clang-format release formats a little differently.
cf=clang-format-14
command -v $cf > /dev/null || { echo "check-format.sh: $cf is not installed (scripts/install-deps.sh --test)" >&2; exit 2; }
git rev-parse -q --verify "$base^{commit}" > /dev/null \
  || { echo "check-format.sh: base '$base' is not a commit of this clone" >&2; exit 2; }
# Changed since the base, committed or not, and still present.
mapfile -t files < <({ git diff --name-only --diff-filter=d "$base" -- '*.cc' '*.h' '*.cu' '*.cuh';
                      git ls-files --others --exclude-standard -- '*.cc' '*.h' '*.cu' '*.cuh'; } | sort -u)
bad=0
for f in "${files[@]}"; do
  if [[ $fix == 1 ]]; then
    $cf -i "$f"
  elif ! $cf --dry-run --Werror "$f" > /dev/null 2>&1; then
    echo "$f: not formatted (scripts/check-format.sh --fix, or $cf -i $f)"
    bad=1
  fi
done
echo "check-format: ${#files[@]} changed file(s) since ${base:0:12}, $([[ $bad == 0 ]] && echo clean || echo 'some unformatted')" >&2
exit $bad
