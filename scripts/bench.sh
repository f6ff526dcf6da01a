#!/usr/bin/env bash
# Regenerate the performance tables of BENCHMARKS.md (issue 15): shuttle
# throughput per variant, the facade-overhead micro-benchmarks, loom's
# redundancy against happens-before classes, and callgrind instruction counts.
#
#   scripts/bench.sh throughput [BIN...]   executions per CPU second per variant, PCT and random,
#                                          for each daxcheck binary given (default:
#                                          target/release/daxcheck), side by side
#   scripts/bench.sh instructions [BIN...] callgrind instruction counts of one
#                                          fixed run per binary (needs valgrind)
#   scripts/bench.sh facade                cargo bench --bench facade, with ratios
#   scripts/bench.sh redundancy [VARIANT...]  cargo bench --bench redundancy
#   scripts/bench.sh bound3 [BIN]          the bound-3 campaign `check --bound 3 --jobs 2`:
#                                          wall and CPU, verdict, the slowest runs
#   scripts/bench.sh stacks [BIN]          loom CPU time with and without the stack pool
#                                          (DAXCHECK_STACK_POOL=0) on the heaviest variants
#   scripts/bench.sh pct [SEEDS]           `mutants --explorer pct` on seeds 1..SEEDS (default 3):
#                                          exit status, cells caught, time to detection
#   scripts/bench.sh detection [RUNS]      stress vs loom vs PCT per paired cell
#                                          (scripts/bench-detection.sh, RUNS stress runs, default 500)
#   scripts/bench.sh all                   throughput, instructions, facade, redundancy
#   scripts/bench.sh issue15               the tables issue 15's acceptance names, one after the
#                                          other on a quiet machine: detection (stress), pct,
#                                          facade, redundancy (about 25 minutes)
#
# Environment: ITER (shuttle iterations per variant, default 2000), REPS
# (runs per variant and binary, alternated; the best counts, default 2). Every table is printed as Markdown on stdout, headed by the
# commit and machine it came from.
set -euo pipefail
cd "$(dirname "$0")/.."

ITER=${ITER:-2000}
REPS=${REPS:-2}

header() {
    echo "<!-- $1: commit $(git rev-parse --short HEAD)$(git diff --quiet || echo '+dirty'), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ) -->"
}

build() {
    cargo build --release -q -p daxcheck
}

throughput() {
    local bins=("$@")
    [ ${#bins[@]} -gt 0 ] || { build; bins=(target/release/daxcheck); }
    header "shuttle throughput, ITER=$ITER, REPS=$REPS, --jobs 1, executions per CPU second"
    python3 - "$ITER" "$REPS" "${bins[@]}" <<'EOF'
# Executions per CPU second (user + sys of the process, from wait4), one
# process per variant, explorer and binary, the binaries alternated, each
# cell the best of REPS: on a shared machine wall time measures the other
# tenants, CPU time does not. A process's CPU includes its start (argument
# parsing, the catalogue), a few milliseconds against ITER executions.
import json, os, statistics, subprocess, sys
iters, reps, bins = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
import re
listing = subprocess.run([bins[-1], "list"], capture_output=True, text=True).stdout
variants = [f"{m.group(1)}/{v}" for m in re.finditer(r"^(S\d+)  .*?  \[(.*?)\]  catches", listing, re.M)
            for v in re.findall(r"(?:^|, )([\w-]+): ", m.group(2))]
def one(b, v, e):
    p = subprocess.Popen([b, "check", v, "--explorer", e, "--iterations", str(iters), "--jobs", "1",
                          "--format", "json"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out = p.stdout.read()
    _, _, ru = os.wait4(p.pid, 0)
    r = [json.loads(l) for l in out.splitlines() if l.startswith("{")]
    if len(r) != 1 or r[0]["executions"] != iters:
        return None  # a finding stops the run early: left out, as before
    return iters / (ru.ru_utime + ru.ru_stime)
cols = [(e, i) for e in ("pct", "random") for i in range(len(bins))]
rate = {c: {} for c in cols}
for v in variants:
    for e in ("pct", "random"):
        for _ in range(reps):
            for i, b in enumerate(bins):
                x = one(b, v, e)
                if x is not None:
                    rate[(e, i)][v] = max(rate[(e, i)].get(v, 0), x)
names = [v for v in variants if any(v in rate[c] for c in cols)]
label = lambda e, i: f"{e} ({os.path.basename(bins[i])})" if len(bins) > 1 else e
print("| variant | " + " | ".join(label(*c) for c in cols) + " |")
print("|---" * (len(cols) + 1) + "|")
for n in names:
    print(f"| {n} | " + " | ".join(f"{rate[c][n]:.0f}" if n in rate[c] else "-" for c in cols) + " |")
print("| **median** | " + " | ".join(f"**{statistics.median(rate[c].values()):.0f}**" if rate[c] else "-" for c in cols) + " |")
EOF
}

instructions() {
    local bins=("$@")
    [ ${#bins[@]} -gt 0 ] || { build; bins=(target/release/daxcheck); }
    command -v valgrind >/dev/null || { echo "valgrind not installed" >&2; exit 2; }
    header "callgrind instruction counts"
    echo "| binary | run | instructions | per execution |"
    echo "|---|---|---|---|"
    for bin in "${bins[@]}"; do
        for run in "S3/pte --explorer random --iterations 500" "S3/pte --explorer pct --iterations 500" "S1/pte --explorer loom"; do
            local ir execs
            # shellcheck disable=SC2086
            ir=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" check $run --jobs 1 --format json 2>&1 >/tmp/bench-callgrind.json |
                awk '/Collected/ {gsub(",", "", $4); print $4}')
            execs=$(python3 -c 'import json,sys; print(sum(json.loads(l)["executions"] for l in open(sys.argv[1]) if l.startswith("{")))' /tmp/bench-callgrind.json)
            echo "| $(basename "$bin") | \`check $run\` | $ir | $((ir / execs)) |"
        done
    done
}

facade() {
    header "facade overhead (divan medians and fastest)"
    local out
    out=$(cargo bench -q -p daxcheck --bench facade 2>&1)
    echo '```'
    echo "$out" | grep -v '^\s*$'
    echo '```'
    # Rows: "├─ S1/pte   fastest │ slowest │ median ..." then the item/s line.
    echo "$out" | python3 -c '
import re, sys
cur, rate = None, {}
lines = sys.stdin.read().splitlines()
for i, l in enumerate(lines):
    m = re.search(r"[├╰]─ (loom_model|loom_twin|shuttle_model|shuttle_twin)\b", l)
    if m:
        cur = m.group(1); continue
    m = re.search(r"[├╰]─ (S\d+/\S+)", l)
    if m and cur and i + 1 < len(lines):
        # fastest, slowest, median, mean
        r = [float(v) * {"": 1, "K": 1e3, "M": 1e6}[u] for v, u in re.findall(r"([\d.]+) ([KM]?)item/s", lines[i + 1])]
        if len(r) == 4:
            rate[(cur, m.group(1))] = (r[0], r[2])
print()
print("| runtime | variant | model executions/s (median, fastest) | twin executions/s (median, fastest) | model cost per execution / twin (median, fastest) |")
print("|---|---|---|---|---|")
for rt in ("loom", "shuttle"):
    for v in sorted({k[1] for k in rate}):
        m, t = rate.get((rt + "_model", v)), rate.get((rt + "_twin", v))
        if m and t:
            print(f"| {rt} | {v} | {m[1]:.0f}, {m[0]:.0f} | {t[1]:.0f}, {t[0]:.0f} | {t[1]/m[1]:.2f}x, {t[0]/m[0]:.2f}x |")
'
}

redundancy() {
    header "loom redundancy"
    cargo bench -q -p daxcheck --bench redundancy -- "$@" 2>/dev/null
}

pct() {
    local seeds=${1:-3}
    build
    header "PCT at each scenario's default budget: target/release/daxcheck mutants --explorer pct --jobs 2 --format json --seed S, S = 1..$seeds"
    python3 - "$seeds" <<'EOF'
# Exit status, cells caught and time to detection of every paired cell per
# seed; a cell's time is the seconds of its catching run (wall).
import json, statistics, subprocess, sys
seeds = int(sys.argv[1])
rows = []
for s in range(1, seeds + 1):
    p = subprocess.run(["target/release/daxcheck", "mutants", "--explorer", "pct", "--jobs", "2",
                        "--format", "json", "--seed", str(s)], capture_output=True, text=True)
    cells = [c for c in json.loads(p.stdout)["cells"] if c["paired"]]
    caught = [c for c in cells if c["caught_by"] is not None]
    if not caught:
        rows.append((s, p.returncode, 0, len(cells), None, None, None))
        continue
    slow = max(caught, key=lambda c: c["seconds"])
    rows.append((s, p.returncode, len(caught), len(cells), statistics.median(c["seconds"] for c in caught),
                 statistics.median(c["executions"] for c in caught), slow))
print("| seed | exit | paired cells caught | median s to detection | median executions | slowest cell (s, executions) |")
print("|---|---|---|---|---|---|")
for s, rc, k, n, ms, me, slow in rows:
    if slow is None:
        print(f"| {s} | {rc} | 0/{n} | - | - | - |")
        continue
    print(f"| {s} | {rc} | {k}/{n} | {ms:.3f} | {me:g} | {slow['mutant']} on {slow['scenario']} ({slow['seconds']:.3f}, {slow['executions']}) |")
EOF
}

detection() {
    build
    header "stress vs loom vs PCT: scripts/bench-detection.sh ${1:-500}"
    bash scripts/bench-detection.sh "${1:-500}"
}

bound3() {
    local bin=${1:-}
    [ -n "$bin" ] || { build; bin=target/release/daxcheck; }
    header "bound-3 campaign: $bin check --bound 3 --jobs 2 --format json"
    python3 - "$bin" <<'EOF'
# One run of the campaign: wall time from outside, CPU (user + sys) of the
# process from wait4, each run's own seconds (wall, as the run saw it) for
# the slowest ten.
import json, os, subprocess, sys, time
t0 = time.monotonic()
p = subprocess.Popen([sys.argv[1], "check", "--bound", "3", "--jobs", "2", "--format", "json"],
                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
out = p.stdout.read()
_, status, ru = os.wait4(p.pid, 0)
wall = time.monotonic() - t0
rs = [json.loads(l) for l in out.splitlines() if l.startswith("{")]
ok = sum(1 for r in rs if r["as_expected"])
print(f"wall {wall:.1f} s, user {ru.ru_utime:.1f} s, sys {ru.ru_stime:.1f} s; "
      f"exit status {os.waitstatus_to_exitcode(status)}; {ok} of {len(rs)} runs as expected")
print()
print("| run | explorer | executions | label | seconds |")
print("|---|---|---|---|---|")
def ex(e):
    return e["kind"] + "(" + " ".join(f"{k}={v}" for k, v in e.items() if k != "kind") + ")"
for r in sorted(rs, key=lambda r: -r["seconds"])[:10]:
    loom_pass = r["explorer"]["kind"] == "loom" and not r["violation"]
    label = ("bounded" if r["bounded"] else "exhaustive") if loom_pass else ""
    print(f"| {r['scenario']}/{r['variant']} | {ex(r['explorer'])} | {r['executions']} | {label} | {r['seconds']:.1f} |")
EOF
}

stacks() {
    local bin=${1:-}
    [ -n "$bin" ] || { build; bin=target/release/daxcheck; }
    header "loom stack pool: CPU seconds per run, pool on and off (DAXCHECK_STACK_POOL=0), alternated, best of $REPS"
    python3 - "$bin" "$REPS" <<'EOF'
import os, subprocess, sys
bin, reps = sys.argv[1], int(sys.argv[2])
def cpu(v, pool):
    env = dict(os.environ, DAXCHECK_STACK_POOL="1" if pool else "0")
    p = subprocess.Popen([bin, "check", v, "--explorer", "loom", "--bound", "2"], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, ru = os.wait4(p.pid, 0)
    return ru.ru_utime, ru.ru_stime
print("| variant (loom, bound 2, with its label probe) | pool on: user + sys s | pool off: user + sys s | on / off |")
print("|---|---|---|---|")
for v in ("S16/hole", "S13/refault-munmap", "S6/truncate", "S3/pte"):
    best = {}
    for _ in range(reps):
        for pool in (True, False):
            u, s = cpu(v, pool)
            if pool not in best or u + s < sum(best[pool]):
                best[pool] = (u, s)
    (u1, s1), (u0, s0) = best[True], best[False]
    print(f"| {v} | {u1:.2f} + {s1:.2f} | {u0:.2f} + {s0:.2f} | {(u1 + s1) / (u0 + s0):.2f} |")
EOF
}

case "${1:-all}" in
    throughput) shift; throughput "$@" ;;
    instructions) shift; instructions "$@" ;;
    facade) facade ;;
    redundancy) shift; redundancy "$@" ;;
    bound3) shift; bound3 "$@" ;;
    stacks) shift; stacks "$@" ;;
    pct) shift; pct "$@" ;;
    detection) shift; detection "$@" ;;
    all) throughput; echo; instructions; echo; facade; echo; redundancy ;;
    issue15) detection; echo; pct; echo; facade; echo; redundancy ;;
    *) sed -n '2,29p' "$0" >&2; exit 2 ;;
esac
