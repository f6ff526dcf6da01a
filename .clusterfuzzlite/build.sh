#!/bin/bash -eu
# ClusterFuzzLite/OSS-Fuzz build: the cargo-fuzz targets of fuzz/, copied to
# $OUT with their seed corpora. The base image (base-builder-rust) sets $SRC,
# $OUT and $CARGO_BUILD_TARGET, puts a nightly cargo with cargo-fuzz first in
# PATH and passes the sanitizer flags through cargo fuzz. The Dockerfile
# copies the repository to $SRC/daxcheck; DAXCHECK_SRC points elsewhere
# (the local test, .clusterfuzzlite/test-build.sh).
REPO="${DAXCHECK_SRC:-$SRC/daxcheck}"
cd "$REPO/fuzz"
# Release with debug assertions: the model's own bookkeeping asserts stay on.
cargo fuzz build --release --debug-assertions
BIN="target/$CARGO_BUILD_TARGET/release"
for t in ops schedules replay_file; do
  cp "$BIN/$t" "$OUT/"
  # A run stopped at a suppressed (known) violation abandons its shuttle
  # tasks without unwinding, by design; LeakSanitizer would report those as
  # leaks (as in .ci/run's fuzz runs). The runner reads these options.
  printf '[libfuzzer]\ndetect_leaks=0\n' > "$OUT/$t.options"
  # Seed corpus: the inputs kept in corpus/fuzz/<target>/, sidecars left out.
  seeds="$REPO/corpus/fuzz/$t"
  if [ -d "$seeds" ] && command -v zip >/dev/null; then
    (cd "$seeds" && find . -type f ! -name '*.expect' -print0 | xargs -0 -r zip -q -j "$OUT/${t}_seed_corpus.zip")
  fi
done
