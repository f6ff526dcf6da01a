#!/usr/bin/env bash
# Regenerates BENCHMARKS.md's detection table: for every paired mutant
# cell, runs and seconds to detection by stress (real threads), loom and
# PCT. Usage: scripts/bench-detection.sh [STRESS_RUNS] > table.md
# (run from the repository root after `cargo build --release`).
set -uo pipefail
cd "$(dirname "$0")/.."
B=${DAXCHECK_BIN:-./target/release/daxcheck}
RUNS=${1:-5000}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
# exit status 1 (a paired cell escaped) is a result here, not an error
$B mutants --explorer stress --iterations "$RUNS" --format json --jobs 2 > "$OUT/stress.json" 2>/dev/null
$B mutants --explorer loom --format json --jobs 2 > "$OUT/loom.json" 2>/dev/null
for s in 1 2 3; do
  $B mutants --explorer pct --seed "$s" --format json --jobs 2 > "$OUT/pct$s.json" 2>/dev/null
done
python3 - "$OUT" "$RUNS" <<'PY'
import json, statistics, subprocess, sys
out, runs = sys.argv[1], int(sys.argv[2])
def load(n):
    m = json.load(open(f"{out}/{n}.json"))
    return {(c["mutant"], c["scenario"]): c for c in m["cells"] if c["paired"]}
st, lo = load("stress"), load("loom")
pct = [load(f"pct{s}") for s in (1, 2, 3)]
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
load = open("/proc/loadavg").read().split()[0]
print(f"Commit {commit}; {subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()}-core machine, load average {load} when the table was printed.")
print(f"Stress: one run of up to {runs} real-thread runs per variant (cap {runs} runs or 60 s); "
      "loom: default bound 2; PCT: each scenario's default budget (depth 3 x 2000 iterations; S3 depth 5, S4 depth 5 x 6000), "
      "median of seeds 1-3 over the seeds that caught it.")
print()
print("| mutant | scenario | stress runs | stress s | loom execs | loom s | PCT execs (median) | PCT s (median) | sooner than stress (execs) |")
print("|---|---|---|---|---|---|---|---|---|")
def cell(c):
    return (c["executions"], c["seconds"], c["caught_by"] is not None)
for key in st:
    s = cell(st[key])
    l = cell(lo[key]) if key in lo else None
    caught = [cell(p[key]) for p in pct if key in p and p[key]["caught_by"] is not None]
    pe = statistics.median(x[0] for x in caught) if caught else None
    pt = statistics.median(x[1] for x in caught) if caught else None
    sr = f"{s[0]}" if s[2] else f"not in {s[0]}"
    lr = "-" if l is None else (f"{l[0]}" if l[2] else f"missed ({l[0]})")
    ls = "-" if l is None else f"{l[1]:.3f}"
    pr = f"{pe:g} ({len(caught)}/3)" if caught else "missed (0/3)"
    ps_ = f"{pt:.3f}" if caught else "-"
    best = min([x for x in [l[0] if l and l[2] else None, pe] if x is not None], default=None)
    if not s[2]:
        ratio = "stress never (in its budget)" if best is not None else "none finds it"
    elif best:
        ratio = f"{s[0] / best:.1f}x"
    else:
        ratio = "only stress"
    print(f"| {key[0]} | {key[1]} | {sr} | {s[1]:.2f} | {lr} | {ls} | {pr} | {ps_} | {ratio} |")
PY
