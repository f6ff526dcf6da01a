#!/usr/bin/env bash
# Regenerates BENCHMARKS.md's detection table: for every paired mutant
# cell, runs and seconds to detection by stress (real threads), loom and
# PCT, stress and PCT as the median of REPS repetitions (stress: REPS
# separate matrix runs; PCT: seeds 1..REPS).
# Usage: scripts/bench-detection.sh [STRESS_RUNS] > table.md
# (run from the repository root after `cargo build --release`; REPS=5 by
# default; about 15 minutes on the 2-core machine).
set -uo pipefail
cd "$(dirname "$0")/.."
B=${DAXCHECK_BIN:-./target/release/daxcheck}
RUNS=${1:-500}
REPS=${REPS:-5}
# BENCH_OUT=DIR keeps the runs' JSON there and reuses what it holds.
OUT=${BENCH_OUT:-$(mktemp -d)}
mkdir -p "$OUT"
[ -n "${BENCH_OUT:-}" ] || trap 'rm -rf "$OUT"' EXIT
# exit status 1 (a paired cell escaped) is a result here, not an error
for r in $(seq 1 "$REPS"); do
  [ -s "$OUT/stress$r.json" ] || $B mutants --explorer stress --iterations "$RUNS" --format json --jobs 2 > "$OUT/stress$r.json" 2>/dev/null
  [ -s "$OUT/pct$r.json" ] || $B mutants --explorer pct --seed "$r" --format json --jobs 2 > "$OUT/pct$r.json" 2>/dev/null
done
[ -s "$OUT/loom.json" ] || $B mutants --explorer loom --format json --jobs 2 > "$OUT/loom.json" 2>/dev/null
python3 - "$OUT" "$RUNS" "$REPS" <<'PY'
import json, statistics, subprocess, sys
out, runs, reps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def load(n):
    m = json.load(open(f"{out}/{n}.json"))
    return {(c["mutant"], c["scenario"]): c for c in m["cells"] if c["paired"]}
lo = load("loom")
st = [load(f"stress{r}") for r in range(1, reps + 1)]
pct = [load(f"pct{r}") for r in range(1, reps + 1)]
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
avg = open("/proc/loadavg").read().split()[0]
nproc = subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()
print(f"Commit {commit}; {nproc}-core machine, load average {avg} when the table was printed.")
print(f"Stress: {reps} separate runs of up to {runs} real-thread runs per variant (cap {runs} runs or 60 s); "
      "loom: default bound 2; PCT: each scenario's default budget (depth 3 x 2000 iterations; S3 depth 5, S4 depth 5 x 6000) "
      f"on seeds 1-{reps}. Stress and PCT give the median over all {reps} (a miss counts as never), "
      f"with how many of the {reps} caught it.")
print()
print("| mutant | scenario | stress runs (median) | stress s (median) | loom execs | loom s | PCT execs (median) | PCT s (median) | sooner than stress (execs) | sooner than stress (s) |")
print("|---|---|---|---|---|---|---|---|---|---|")
INF = float("inf")
def median_of(cells):
    # a miss sorts after every catch: the median is a catch only when
    # more than half of the repetitions caught it
    xs = sorted((c["executions"] if c["caught_by"] is not None else INF, c["seconds"], c["executions"]) for c in cells)
    return xs[len(xs) // 2], sum(1 for c in cells if c["caught_by"] is not None)
tally = {"never": 0, "ge100": 0, "first": 0, "lt100": 0, "s100": 0}
for key in st[0]:
    (se, ss, sdone), sk = median_of([s[key] for s in st if key in s])
    (pe, ps, _), pk = median_of([p[key] for p in pct if key in p])
    l = lo.get(key)
    lr = "-" if l is None else (f"{l['executions']}" if l["caught_by"] is not None else f"missed ({l['executions']})")
    ls = "-" if l is None else f"{l['seconds']:.3f}"
    # a miss gives the runs stress made (its cap of runs or 60 s)
    sr = f"{se:g} ({sk}/{reps})" if se != INF else f"never in {sdone} ({sk}/{reps})"
    pr = f"{pe:g} ({pk}/{reps})" if pe != INF else f"missed ({pk}/{reps})"
    ps_ = f"{ps:.3f}" if pe != INF else "-"
    best = min([x for x in [l["executions"] if l and l["caught_by"] is not None else None,
                            pe if pe != INF else None] if x is not None], default=None)
    # seconds: the faster of loom and PCT, a millisecond at least (the
    # seconds printed have that resolution)
    bsec = min([x for x in [l["seconds"] if l and l["caught_by"] is not None else None,
                            ps if pe != INF else None] if x is not None], default=None)
    if se == INF:
        ratio = "stress never (in its budget)" if best is not None else "none finds it"
        sratio = "-"
        tally["never"] += 1
    elif best:
        ratio = f"{se / best:.1f}x"
        r = ss / max(bsec, 0.001)
        sratio = f"{r:.0f}x" if r >= 10 else f"{r:.1f}x"
        if se / best >= 100:
            tally["ge100"] += 1
        elif se == 1:
            tally["first"] += 1
        else:
            tally["lt100"] += 1
        if ss / max(bsec, 0.001) >= 100:
            tally["s100"] += 1
    else:
        ratio, sratio = "only stress", "-"
    print(f"| {key[0]} | {key[1]} | {sr} | {ss:.2f} | {lr} | {ls} | {pr} | {ps_} | {ratio} | {sratio} |")
print()
print(f"{len(st[0])} paired cells. Stress (its median) never finds {tally['never']} in its budget. "
      f"Of the {len(st[0]) - tally['never']} it finds, daxcheck (the sooner of loom and PCT) needs at least 100x fewer executions "
      f"for {tally['ge100']}; stress's first run already breaks {tally['first']} (a mistake that every interleaving shows: "
      f"no explorer can be sooner in executions); {tally['lt100']} others are found under 100x sooner. "
      f"In seconds, daxcheck is at least 100x sooner on {tally['s100']} of the {len(st[0]) - tally['never']}.")
PY
