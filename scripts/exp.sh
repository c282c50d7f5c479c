#!/usr/bin/env bash
# One DVC experiment in the workspace, as `make exp S="train.epochs=2 data.per_class=64"` runs it:
# each KEY=VALUE becomes `-S KEY=VALUE`. `dvc exp run` writes the values into params.yaml before
# the pipeline runs; when the experiment is refused (or fails), params.yaml is put back as it
# was, so the next `dvc repro` does not run the refused values. (The check stage has refused
# before any output was touched.)
set -uo pipefail
if [[ $# -eq 0 ]]; then
  echo "error: no parameters given; use e.g. make exp S=\"train.epochs=2 data.per_class=64\"" >&2
  exit 2
fi
saved=$(mktemp)
cp params.yaml "$saved"
args=()
for pair in "$@"; do args+=(-S "$pair"); done
dvc exp run "${args[@]}"
status=$?
if [[ $status -ne 0 ]]; then
  cp "$saved" params.yaml
  echo "the experiment stopped (exit $status); params.yaml is back as it was" >&2
fi
rm -f "$saved"
exit $status
