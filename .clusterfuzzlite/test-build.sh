#!/usr/bin/env bash
# Runs .clusterfuzzlite/build.sh outside Docker with the variables the
# OSS-Fuzz Rust base image sets (SRC, OUT, CARGO_BUILD_TARGET) and checks
# that every fuzz target binary lands in $OUT and runs. Needs a nightly
# toolchain and cargo-fuzz (README, "Fuzzing").
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export SRC="$work/src" OUT="$work/out"
export CARGO_BUILD_TARGET="${CARGO_BUILD_TARGET:-$(rustc +nightly -vV | sed -n 's/^host: //p')}"
# The base image's default toolchain is nightly.
export RUSTUP_TOOLCHAIN=nightly
export DAXCHECK_SRC="$repo"
mkdir -p "$SRC" "$OUT"
bash "$repo/.clusterfuzzlite/build.sh"
for t in ops schedules replay_file; do
  if [ ! -x "$OUT/$t" ]; then
    echo "test-build: $OUT/$t was not built" >&2
    exit 1
  fi
  # One pass over the kept corpus (or an empty run): the binary starts,
  # reads inputs and finds no crash on the unmutated model.
  # New inputs go to the first (scratch) directory, never into the kept seeds.
  mkdir -p "$work/corpus-$t"
  # With the options build.sh wrote for the runner (no leak detection).
  [ -f "$OUT/$t.options" ] || { echo "test-build: $OUT/$t.options missing" >&2; exit 1; }
  ASAN_OPTIONS=detect_leaks=0 "$OUT/$t" -detect_leaks=0 -runs=100 "$work/corpus-$t" "$repo/corpus/fuzz/$t" >"$work/$t.log" 2>&1 || {
    echo "test-build: $OUT/$t failed:" >&2
    tail -20 "$work/$t.log" >&2
    exit 1
  }
done
echo "test-build: ops, schedules and replay_file built into \$OUT and ran"
