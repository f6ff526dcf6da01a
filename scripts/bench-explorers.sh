#!/usr/bin/env bash
# Regenerates BENCHMARKS.md's table "Explorer defaults chosen by measurement
# (issue 10 §4)": for every paired (mutant, scenario) cell, which explorer
# settings catch it. Usage (from the repository root, after
# `cargo build --release`):
#   scripts/bench-explorers.sh [CAP_SECONDS] > table.md
# Columns: the scenario's default explorers (`daxcheck mutants`) with seed
# 1, and how many of seeds $SEEDS (default 2-5; loom's search has no seed,
# PCT's does) also catch it; loom at bound 2 and 3; PCT and uniform random
# at each scenario's budget (its Tuning floor over depth 3 x 2,000
# iterations), seed 1. Bound 3
# runs only the mutant cells (never the unmutated baseline, which costs
# minutes on S16 and S13): one `daxcheck check S/variant --mutant M
# --explorer loom --bound 3` per variant, in catalogue order, stopping at
# the first variant that breaks a check it holds unmutated; a variant run
# longer than CAP_SECONDS (default 120) is given up and the cell says so.
set -uo pipefail
cd "$(dirname "$0")/.."
B=${DAXCHECK_BIN:-./target/release/daxcheck}
CAP=${1:-120}
OUT=${BENCH_OUT:-$(mktemp -d)}
mkdir -p "$OUT"
[ -n "${BENCH_OUT:-}" ] || trap 'rm -rf "$OUT"' EXIT
# Exit status 1 (a paired cell escaped) is a result here, not an error.
[ -s "$OUT/default.json" ] || $B mutants --format json --jobs 2 > "$OUT/default.json" 2>/dev/null
[ -s "$OUT/loom2.json" ] || $B mutants --explorer loom --bound 2 --format json --jobs 2 > "$OUT/loom2.json" 2>/dev/null
[ -s "$OUT/pct.json" ] || $B mutants --explorer pct --format json --jobs 2 > "$OUT/pct.json" 2>/dev/null
[ -s "$OUT/random.json" ] || $B mutants --explorer random --format json --jobs 2 > "$OUT/random.json" 2>/dev/null
SEEDS=${SEEDS:-2 3 4 5}
for s in $SEEDS; do
  [ -s "$OUT/default-seed$s.json" ] || $B mutants --seed "$s" --format json --jobs 2 > "$OUT/default-seed$s.json" 2>/dev/null
done
$B list --format json > "$OUT/list.json"
$B list --mutants --format json > "$OUT/mutants.json"
python3 - "$B" "$OUT" "$CAP" $SEEDS <<'PY'
import json, os, subprocess, sys, time
b, out, cap, seeds = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
cat = {s["name"]: s for s in json.load(open(f"{out}/list.json"))}
muts = json.load(open(f"{out}/mutants.json"))
def load(n):
    m = json.load(open(f"{out}/{n}.json"))
    return {(c["mutant"], c["scenario"]): c for c in m["cells"] if c["paired"]}
cols = {n: load(n) for n in ["default", "loom2", "pct", "random"] + [f"default-seed{s}" for s in seeds]}

def bound3(m, s, kernel):
    """One cell at loom bound 3: (executions, variant) of the first catch,
    or None with the variants given up on."""
    cache = f"{out}/b3-{m}-{s}.json"
    if os.path.exists(cache):
        return json.load(open(cache))
    res = {"caught": None, "gave_up": [], "seconds": 0.0}
    for v in cat[s]["variants"]:
        cmd = [b, "check", f"{s}/{v['name']}", "--mutant", m, "--explorer", "loom",
               "--bound", "3", "--jobs", "1", "--format", "json"]
        if kernel:
            cmd += ["--kernel", kernel]
        t0 = time.time()
        try:
            p = subprocess.run(["timeout", str(cap)] + cmd, capture_output=True, text=True)
        except OSError as e:
            sys.exit(f"bench-explorers: cannot run {b}: {e}")
        res["seconds"] += time.time() - t0
        if p.returncode == 124:
            res["gave_up"].append(v["name"])
            continue
        for line in p.stdout.splitlines():
            r = json.loads(line)
            if r["expected"]["result"] == "holds" and r["observed"] == "violated":
                res["caught"] = {"variant": v["name"], "executions": r["executions"],
                                 "check": r["violation"]["check"]}
        if res["caught"]:
            break
    json.dump(res, open(cache, "w"))
    return res

def shuttle_cell(c):
    if c["caught_by"] is None:
        if c.get("out_of_reach"):
            return f"out of reach, declared (missed in {c['executions']:,})"
        return f"missed ({c['executions']:,})"
    return f"{c['executions']:,} ({c['variant']})"

rows, tally = [], {k: 0 for k in ("default", "seeds", "loom2", "loom3", "pct", "random")}
for mu in muts:
    for s in mu["paired"]:
        key = (mu["name"], s)
        r3 = bound3(mu["name"], s, mu["kernel"])
        if r3["caught"]:
            c3 = f"{r3['caught']['executions']:,} ({r3['caught']['variant']})"
            tally["loom3"] += 1
        else:
            c3 = "missed" + (f"; gave up on {', '.join(r3['gave_up'])} after {cap} s"
                             if r3["gave_up"] else "")
        cells = []
        for n in ("default", "loom2"):
            c = cols[n].get(key)
            cells.append("-" if c is None else shuttle_cell(c))
            tally[n] += c is not None and c["caught_by"] is not None
            if n == "default":
                k = sum(cols[f"default-seed{s}"].get(key, {}).get("caught_by") is not None for s in seeds)
                cells.append(f"{k}/{len(seeds)}")
                tally["seeds"] += k == len(seeds)
        cells.append(c3)
        for n in ("pct", "random"):
            c = cols[n].get(key)
            cells.append("-" if c is None else shuttle_cell(c))
            tally[n] += c is not None and c["caught_by"] is not None
        rows.append((mu["name"], s, cells))
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
load = open("/proc/loadavg").read().split()[0]
print(f"Commit {commit}; load average {load} when the table was printed; seed 1. A cell gives the "
      "executions to the first catch and the variant that caught it (loom: executions of that "
      "variant's run; shuttle: of the catching run), or `missed (executions run)`. Bound 3 gives up "
      f"on a variant run after {cap} s.")
print()
print(f"| mutant | scenario | default explorers | default, seeds {' '.join(seeds) or '(none)'} | loom bound 2 | loom bound 3 | PCT | random |")
print("|---|---|---|---|---|---|---|---|")
for m, s, cells in rows:
    print(f"| {m} | {s} | " + " | ".join(cells) + " |")
n = len(rows)
print(f"| **caught** | {n} cells | {tally['default']}/{n} | {tally['seeds']}/{n} on every seed | {tally['loom2']}/{n} | "
      f"{tally['loom3']}/{n} | {tally['pct']}/{n} | {tally['random']}/{n} |")
PY
