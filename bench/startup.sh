#!/bin/sh
# Start-up cost of one `pwsentry check` process (BENCHMARKS.md, "Start-up").
#
#   bench/startup.sh [BINARY...]      default: target/release/pwsentry
#
# For each binary and each password below (fed on stdin, never in argv):
#   * instructions of the whole process, loader included (valgrind callgrind);
#   * CPU time (user + system) per process: perf stat's task-clock, 200 runs;
#   * wall time: hyperfine, 300 runs after 20 warm-ups, its shell start-up
#     subtracted (hyperfine 1.15 cannot feed stdin with -N).
# Needs valgrind, perf (linux-perf) and hyperfine. Takes about a minute per binary.
set -eu
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || set -- target/release/pwsentry
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
# The brief's example, and a common shape (a word, a year, a repeat).
printf '%s\n' 'Velvet#Orbit#Canyon42' > "$work/velvet.txt"
printf '%s\n' 'Summer2024!!' > "$work/summer.txt"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
for bin in "$@"; do
    [ -x "$bin" ] || { echo "$bin: not an executable (cargo build --release -p pwsentry-cli)" >&2; exit 2; }
    echo "== $bin ($(stat -c %s "$bin") bytes)"
    for pw in velvet summer; do
        out="$work/cg.$pw.out"
        valgrind --tool=callgrind --callgrind-out-file="$out" \
            "$bin" --policy policy.toml check < "$work/$pw.txt" > /dev/null 2> "$work/vg.log"
        printf '%s: instructions %s\n' "$pw" "$(sed -n 's/^summary: //p' "$out")"
        # One perf run per process: `perf stat -r` would give every run after
        # the first an empty stdin.
        : > "$work/cpu.$pw"
        for _ in $(seq 200); do
            perf stat -x, -e task-clock "$bin" --policy policy.toml check \
                < "$work/$pw.txt" 2>> "$work/cpu.$pw" > /dev/null
        done
        python3 -c "
import statistics, sys
ms = sorted(float(l.split(',')[0]) for l in open(sys.argv[1]) if 'task-clock' in l)
print('%s: CPU (task-clock) median %.3f ms, mean %.3f ms, min %.3f ms, p90 %.3f ms, n=%d' % (
    sys.argv[2], statistics.median(ms), statistics.mean(ms), ms[0], ms[int(len(ms) * 0.9)], len(ms)))" "$work/cpu.$pw" "$pw"
    done
    hyperfine --warmup 20 --runs 300 --style basic --export-json "$work/h.json" \
        "'$bin' --policy policy.toml check < '$work/velvet.txt'" > /dev/null 2>&1
    python3 -c "
import json, statistics
r = json.load(open('$work/h.json'))['results'][0]
print('velvet: wall median %.2f ms, mean %.2f +- %.2f ms, min %.2f ms; user+sys mean %.2f ms (hyperfine, 300 runs)' % (
    r['median'] * 1e3, r['mean'] * 1e3, r['stddev'] * 1e3, r['min'] * 1e3, (r['user'] + r['system']) * 1e3))"
done
