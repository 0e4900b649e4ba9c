#!/usr/bin/env bash
# The default training corpus's files, one path a line, in the order `paci train` reads them
# (exec/model/data.h: the plain-text files of the fortunes folder, not *.dat or *.u8, sorted by name),
# so the GPU bundle trains on exactly the text a CPU run here does.
set -euo pipefail
dir="${1:-/usr/share/games/fortunes}"
[[ -d "$dir" ]] || { echo "gpu_corpus_files: $dir missing (bash scripts/install-deps.sh)" >&2; exit 2; }
find "$dir" -maxdepth 1 -type f ! -name '*.dat' ! -name '*.u8' -printf '%f\n' | LC_ALL=C sort | sed "s|^|$dir/|"
