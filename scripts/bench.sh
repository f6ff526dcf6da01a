#!/usr/bin/env bash
# Regenerate the performance tables of BENCHMARKS.md (issue 15): shuttle
# throughput per variant, the facade-overhead micro-benchmarks, loom's
# redundancy against happens-before classes, and callgrind instruction counts.
#
#   scripts/bench.sh throughput [BIN...]   executions/s per variant, PCT and random,
#                                          for each daxcheck binary given (default:
#                                          target/release/daxcheck), side by side
#   scripts/bench.sh instructions [BIN...] callgrind instruction counts of one
#                                          fixed run per binary (needs valgrind)
#   scripts/bench.sh facade                cargo bench --bench facade, with ratios
#   scripts/bench.sh redundancy [VARIANT...]  cargo bench --bench redundancy
#   scripts/bench.sh all                   all four for the current build
#
# Environment: ITER (shuttle iterations per variant, default 2000), REPS
# (catalogue passes per binary, alternated; each variant's best pass counts,
# default 2). Every table is printed as Markdown on stdout, headed by the
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

# One catalogue pass: JSON lines of `check` under one explorer.
pass() {
    local bin=$1 explorer=$2
    "$bin" check --explorer "$explorer" --iterations "$ITER" --jobs 1 --format json || true
}

throughput() {
    local bins=("$@")
    [ ${#bins[@]} -gt 0 ] || { build; bins=(target/release/daxcheck); }
    local tmp
    tmp=$(mktemp -d)
    for explorer in pct random; do
        for r in $(seq 1 "$REPS"); do
            for i in "${!bins[@]}"; do
                pass "${bins[$i]}" "$explorer" >"$tmp/$explorer.$i.$r.json"
            done
        done
    done
    header "shuttle throughput, ITER=$ITER, REPS=$REPS, --jobs 1"
    python3 - "$tmp" "$ITER" "${bins[@]}" <<'EOF'
import json, os, statistics, sys
tmp, iters, bins = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
def best(explorer, i):
    rate = {}
    for f in sorted(os.listdir(tmp)):
        if not f.startswith(f"{explorer}.{i}."):
            continue
        for line in open(os.path.join(tmp, f)):
            try:
                r = json.loads(line)
            except ValueError:
                continue
            # Variants that stop early (a finding) are left out, as before.
            if r.get("executions") != iters or not r.get("seconds"):
                continue
            name = f'{r["scenario"]}/{r["variant"]}'
            rate[name] = max(rate.get(name, 0), r["executions"] / r["seconds"])
    return rate
cols = [(e, i) for e in ("pct", "random") for i in range(len(bins))]
rates = {c: best(*c) for c in cols}
names = sorted(set().union(*[set(r) for r in rates.values()]), key=lambda n: (int(n.split("/")[0][1:]), n))
label = lambda e, i: f"{e} ({os.path.basename(bins[i]) if len(bins) > 1 else 'executions/s'})"
print("| variant | " + " | ".join(label(*c) for c in cols) + " |")
print("|---" * (len(cols) + 1) + "|")
for n in names:
    print(f"| {n} | " + " | ".join(f'{rates[c].get(n, 0):.0f}' for c in cols) + " |")
print("| **median** | " + " | ".join(f'**{statistics.median(rates[c].values()):.0f}**' if rates[c] else "-" for c in cols) + " |")
EOF
    rm -rf "$tmp"
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
        cols = [c.strip() for c in lines[i + 1].split("│")]
        def per_s(s):
            v, unit = re.match(r"([\d.]+) (\w*)item/s", s.split("│")[-1].strip()).groups()
            return float(v) * {"": 1, "K": 1e3, "M": 1e6}[unit]
        fastest, median = per_s(cols[0]), per_s(cols[2])
        rate[(cur, m.group(1))] = (fastest, median)
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

case "${1:-all}" in
    throughput) shift; throughput "$@" ;;
    instructions) shift; instructions "$@" ;;
    facade) facade ;;
    redundancy) shift; redundancy "$@" ;;
    all) throughput; echo; instructions; echo; facade; echo; redundancy ;;
    *) sed -n '2,18p' "$0" >&2; exit 2 ;;
esac
