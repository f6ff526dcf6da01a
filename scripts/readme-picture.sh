#!/usr/bin/env bash
# Regenerates docs/picture-S3-pmd-M6.png, the README's picture: the S3/pmd M6
# corpus replay drawn as a page and screenshot by headless Chromium at a
# laptop's 1440x900 (Debian's `chromium`; CHROMIUM=/path overrides).
set -euo pipefail
cd "$(dirname "$0")/.."
chrome=${CHROMIUM:-chromium}
replay=$(ls corpus/replays/S3-pmd-M6-*.replay)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cargo run --release -q -p daxcheck -- replay "$replay" --html "$tmp/s3.html" >/dev/null
"$chrome" --headless --no-sandbox --disable-gpu --no-first-run --hide-scrollbars \
  --window-size=1440,900 --screenshot="$tmp/s3.png" "file://$tmp/s3.html" 2>/dev/null
cp "$tmp/s3.png" docs/picture-S3-pmd-M6.png
echo "docs/picture-S3-pmd-M6.png regenerated from $replay"
