#!/usr/bin/env bash
# Line and region coverage of the model's kernel-function code by the *holds*
# runs of the default `daxcheck check`, written to docs/coverage.md.
#
#   rustup component add llvm-tools-preview   # once
#   bash scripts/coverage.sh                   # ~10 min on 2 cores
#
# Stable rustc's `-C instrument-coverage` counts regions (every block an `if`,
# `match` arm, `&&`/`||` operand or `?` opens), not branch outcomes (that
# needs nightly's -Zcoverage-options=branch): an uncovered region is a branch
# arm no holds run takes. Each variant runs in its own process with its own
# profile, kept only when the catalogue expects the variant to hold.
set -euo pipefail
cd "$(dirname "$0")/.."

sysroot=$(rustc --print sysroot)
bin=$(echo "$sysroot"/lib/rustlib/*/bin)
[ -x "$bin/llvm-profdata" ] || {
  echo "llvm-profdata missing: rustup component add llvm-tools-preview" >&2
  exit 2
}
out=target/coverage
prof=$out/profiles
rm -rf "$prof"
mkdir -p "$prof"
# (Instrumented build scripts write profiles too: keep them out of the tree.)
LLVM_PROFILE_FILE="$out/build-%p.profraw" RUSTFLAGS="-C instrument-coverage" CARGO_TARGET_DIR=$out \
  cargo build --release -p daxcheck --bin daxcheck
exe=$out/release/daxcheck

# Every variant of the catalogue, from `daxcheck list --format json`.
variants=$(LLVM_PROFILE_FILE=/dev/null "$exe" list --format json |
  python3 -c 'import json, sys
for s in json.load(sys.stdin):
    for v in s["variants"]:
        print(s["name"] + "/" + v["name"])')
holds=0
for sv in $variants; do
  tag=${sv/\//-}
  LLVM_PROFILE_FILE="$prof/$tag-%p.profraw" "$exe" check "$sv" --format json \
    >"$prof/$tag.json" 2>/dev/null || true
  if grep -q '"expected": *{"result": *"holds"' "$prof/$tag.json" &&
    ! grep -q '"expected": *{"result": *"finds"' "$prof/$tag.json"; then
    holds=$((holds + 1))
  else
    # A finds variant: kept apart, to tell a branch only a finding reaches
    # from one nothing reaches.
    mkdir -p "$prof/finds"
    mv "$prof/$tag"-*.profraw "$prof/finds/" 2>/dev/null || true
  fi
done
for set in holds finds; do
  dir=$prof
  [ $set = finds ] && dir=$prof/finds
  "$bin/llvm-profdata" merge -sparse "$dir"/*.profraw -o "$out/$set.profdata"
  "$bin/llvm-cov" export --format=text --instr-profile="$out/$set.profdata" "$exe" \
    >"$out/$set.json"
done
python3 scripts/coverage_md.py "$out/holds.json" "$holds" "$out/finds.json" >docs/coverage.md
echo "docs/coverage.md written ($holds holds variants)"
