#!/usr/bin/env bash
# Times pwsentry against its peers on the same 10,000 passwords, in one run.
#
#   bash bench/peers.sh            # install what is missing, build, measure
#   RUNS=10 bash bench/peers.sh    # more hyperfine runs per command
#
# Peers, from Debian's packages: `pwqcheck -1 --multi` (passwdqc) reads
# many passwords in one process; `pwscore` (libpwquality-tools) takes one
# password per process, so it is run once per line, as a script would.
# Also measured: pwsentry on one thread, bare zxcvbn on one thread
# (examples/bare_zxcvbn.rs: same lines, same start-up and output, no policy),
# the start-up cost of one `pwsentry check` process, each batch thread's
# time on a CPU and waiting for one (to tell a busy machine from a serial
# bottleneck), and, when the history helper's bench/make_stale_db.py exists,
# `pwsentry stale` over 1,000,000 accounts.
#
# Environment: RUNS (hyperfine runs per batch command, default 5),
# PWSCORE_RUNS (default 3: ~10,000 processes per run), STARTUP_RUNS
# (default 100), OUT (result folder, default /tmp/pwsentry-peers),
# CARGO_TARGET_DIR (as for cargo), SKIP_STALE=1 to leave out the stale scan.
# Writes OUT/summary.md (the tables below) and hyperfine's JSON beside it.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
RUNS=${RUNS:-5}
PWSCORE_RUNS=${PWSCORE_RUNS:-3}
STARTUP_RUNS=${STARTUP_RUNS:-100}
OUT=${OUT:-/tmp/pwsentry-peers}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
FIXTURE=$ROOT/benches/fixtures/passwords-10000.txt
POLICY=$ROOT/policy.toml
mkdir -p "$OUT"

# 1. Peers and tools, from Debian.
missing=()
for tool in pwqcheck pwscore hyperfine; do
    command -v "$tool" >/dev/null || missing+=("$tool")
done
if ((${#missing[@]})); then
    echo "installing passwdqc libpwquality-tools hyperfine (missing: ${missing[*]})"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update
    $SUDO apt-get install -y passwdqc libpwquality-tools hyperfine
fi

# 2. pwsentry, and the bare zxcvbn baseline, in release mode.
cargo build --release --bin pwsentry --example bare_zxcvbn
BIN=$TARGET/release/pwsentry
BARE=$TARGET/release/examples/bare_zxcvbn

LINES=$(wc -l <"$FIXTURE")
ONE=$OUT/one-password.txt
printf 'Velvet#Orbit#Canyon42\n' >"$ONE"

# Every command must really have read every line: count the answers.
count() { "$@" <"$FIXTURE" 2>/dev/null | wc -l; }
got_pwsentry=$(count "$BIN" --policy "$POLICY" --json check --batch || true)
got_bare=$(count "$BARE")
got_pwqcheck=$(count pwqcheck -1 --multi || true)
for pair in "pwsentry:$got_pwsentry" "bare_zxcvbn:$got_bare" "pwqcheck:$got_pwqcheck"; do
    if [ "${pair#*:}" -ne "$LINES" ]; then
        echo "error: ${pair%%:*} answered ${pair#*:} lines for $LINES passwords" >&2
        exit 1
    fi
done

{
    echo "# pwsentry vs peers: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo
    echo "- machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
    echo "- load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "- pwsentry $("$BIN" --version 2>/dev/null | awk '{print $2}'), zxcvbn crate $(grep -A1 '^name = "zxcvbn"' Cargo.lock | awk -F'"' '/version/ {print $2}')"
    echo "- passwdqc $(dpkg-query -W -f='${Version}' passwdqc 2>/dev/null), libpwquality-tools $(dpkg-query -W -f='${Version}' libpwquality-tools 2>/dev/null), $(hyperfine --version)"
    echo "- input: $FIXTURE ($LINES lines)"
} | tee "$OUT/summary.md"

# 3. Throughput over the 10,000 passwords.
hyperfine --runs "$RUNS" --warmup 1 --ignore-failure --style basic --export-json "$OUT/batch.json" \
    -n "pwsentry check --batch --json" "'$BIN' --policy '$POLICY' --json check --batch < '$FIXTURE' > /dev/null" \
    -n "pwsentry check --batch --json, 1 thread" "RAYON_NUM_THREADS=1 '$BIN' --policy '$POLICY' --json check --batch < '$FIXTURE' > /dev/null" \
    -n "bare zxcvbn, 1 thread" "'$BARE' < '$FIXTURE' > /dev/null" \
    -n "pwqcheck -1 --multi" "pwqcheck -1 --multi < '$FIXTURE' > /dev/null"

# pwscore takes one password per process. The same loop starting /bin/true
# shows what starting the processes alone costs.
for prog in pwscore /bin/true; do
    printf 'while IFS= read -r p; do %s <<<"$p" >/dev/null 2>&1; done < %q\n' "$prog" "$FIXTURE" >"$OUT/loop-$(basename "$prog").sh"
done
hyperfine --runs "$PWSCORE_RUNS" --ignore-failure --style basic --export-json "$OUT/pwscore.json" \
    -n "pwscore, one process per password" "bash '$OUT/loop-pwscore.sh'" \
    -n "/bin/true, one process per password" "bash '$OUT/loop-true.sh'"

# 4. Start-up: one `pwsentry check` process (policy file + dictionaries + one check).
hyperfine --runs "$STARTUP_RUNS" --warmup 5 --ignore-failure --style basic --export-json "$OUT/startup.json" \
    -n "pwsentry check (one password)" "'$BIN' --policy '$POLICY' check < '$ONE' > /dev/null" \
    -n "pwqcheck -1 (one password)" "pwqcheck -1 < '$ONE' > /dev/null" \
    -n "pwscore (one password)" "pwscore < '$ONE' > /dev/null"

# 4b. Is the 2-thread batch limited by pwsentry or by a busy machine? Run it
# once more and sample each thread's /proc schedstat: time on a CPU and time
# runnable but waiting for one. Threads that were runnable all along were
# held back by other load, not by pwsentry; their CPU time is what an idle
# machine would need.
"$BIN" --policy "$POLICY" --json check --batch <"$FIXTURE" >/dev/null &
pid=$!
started=$(date +%s%N)
sched=""
while kill -0 "$pid" 2>/dev/null; do
    now=$(for t in /proc/"$pid"/task/*; do echo "${t##*/} $(cat "$t/schedstat" 2>/dev/null)"; done | awk 'NF >= 3 {print $1, $2, $3}') || true
    [ -n "$now" ] && sched=$now
    sleep 0.05
done
wait "$pid" || true
echo "$(( ($(date +%s%N) - started) / 1000000 ))" >"$OUT/sched-wall-ms.txt"
echo "$sched" >"$OUT/sched.txt"
echo "$pid" >"$OUT/sched-pid.txt"

# 5. The summary tables, from hyperfine's JSON.
python3 - "$OUT" "$LINES" <<'PY' | tee -a "$OUT/summary.md"
import json, os, sys
out, lines = sys.argv[1], int(sys.argv[2])
def load(name):
    return {r["command"]: r for r in json.load(open(os.path.join(out, name)))["results"]}
batch, score, start = load("batch.json"), load("pwscore.json"), load("startup.json")
rows = dict(batch)
rows.update(score)
ref = rows["pwsentry check --batch --json"]["median"]
print("\n## Throughput, %d passwords (hyperfine: median wall; CPU = mean user + system)\n" % lines)
print("| command | runs | median wall | min..max wall | passwords/s (wall) | pwsentry is x times faster | CPU | passwords per CPU-second |")
print("|---|---|---|---|---|---|---|---|")
for name, r in rows.items():
    cpu = r["user"] + r["system"]
    print("| %s | %d | %.3f s | %.3f..%.3f s | %.0f | %.2f | %.3f s | %.0f |" % (
        name, len(r["times"]), r["median"], r["min"], r["max"], lines / r["median"], r["median"] / ref, cpu, lines / cpu))
true_loop = score["/bin/true, one process per password"]["median"]
pwscore = score["pwscore, one process per password"]["median"]
print("\npwscore without the cost of starting a process (pwscore loop - /bin/true loop, wall): %.0f passwords/s" % (lines / max(pwscore - true_loop, 1e-9)))
print("\n## Start-up (hyperfine, shell start-up subtracted)\n")
print("| command | runs | median wall | mean ± sd wall | min wall | CPU (user + sys) |")
print("|---|---|---|---|---|---|")
for name, r in start.items():
    print("| %s | %d | %.1f ms | %.1f ± %.1f ms | %.1f ms | %.1f ms |" % (
        name, len(r["times"]), r["median"] * 1e3, r["mean"] * 1e3, r["stddev"] * 1e3, r["min"] * 1e3, (r["user"] + r["system"]) * 1e3))
pw = lines / ref
pwq = lines / rows["pwqcheck -1 --multi"]["median"]
one = lines / rows["pwsentry check --batch --json, 1 thread"]["median"]
bare = lines / rows["bare zxcvbn, 1 thread"]["median"]
startup = start["pwsentry check (one password)"]["median"] * 1e3
def cpu_rate(name):
    return lines / (rows[name]["user"] + rows[name]["system"])
pid = open(os.path.join(out, "sched-pid.txt")).read().strip()
threads = {}
for l in open(os.path.join(out, "sched.txt")):
    if l.strip():
        tid, run, wait = l.split()
        threads[tid] = (int(run) / 1e9, int(wait) / 1e9)
wall = int(open(os.path.join(out, "sched-wall-ms.txt")).read()) / 1e3
print("\n## check --batch, 2 threads: per-thread schedstat (one more run, %.2f s wall)\n" % wall)
print("| thread | on a CPU | runnable, waiting for a CPU |")
print("|---|---|---|")
for tid, (run, wait) in sorted(threads.items(), key=lambda t: (t[0] != pid, int(t[0]))):
    print("| %s | %.2f s | %.2f s |" % ("main" if tid == pid else "worker " + tid, run, wait))
main_run = threads.get(pid, (0.0, 0.0))[0]
worker_runs = [run for tid, (run, _) in threads.items() if tid != pid] or [0.0]
# Work stealing shares the lines out by who gets a CPU: on an idle machine
# the workers would split their total evenly.
idle = main_run + sum(worker_runs) / len(worker_runs)
print("\nOn an idle machine (main thread + the workers' CPU time shared evenly, no waiting): about %.0f passwords/s" % (lines / idle))
print("\n## Targets (wall, as measured; CPU-time rates in brackets)\n")
def verdict(ok):
    return "met" if ok else "MISSED"
print("- check --batch >= 15x pwqcheck -1 --multi: %.1fx (%.0f vs %.0f passwords/s): %s [per CPU-second: %.0f vs %.0f]" % (
    pw / pwq, pw, pwq, verdict(pw >= 15 * pwq), cpu_rate("pwsentry check --batch --json"), cpu_rate("pwqcheck -1 --multi")))
print("- per core within 10%% of bare zxcvbn: 1 thread %.0f vs %.0f passwords/s = %.1f%% slower: %s [per CPU-second: %.0f vs %.0f, %.1f%% slower]" % (
    one, bare, (1 - one / bare) * 100, verdict(one >= 0.9 * bare),
    cpu_rate("pwsentry check --batch --json, 1 thread"), cpu_rate("bare zxcvbn, 1 thread"),
    (1 - cpu_rate("pwsentry check --batch --json, 1 thread") / cpu_rate("bare zxcvbn, 1 thread")) * 100))
print("- one check process < 40 ms: median %.1f ms: %s" % (startup, verdict(startup < 40)))
PY

# 6. The stale scan over 1,000,000 accounts (the history helper's script).
if [ "${SKIP_STALE:-0}" != 1 ] && [ -f "$ROOT/bench/make_stale_db.py" ]; then
    {
        echo
        echo "## pwsentry stale, 1,000,000 accounts (bench/make_stale_db.py)"
        echo
        echo '```'
        python3 "$ROOT/bench/make_stale_db.py" --pwsentry "$BIN" --dir "$OUT/stale" 2>&1 || echo "(make_stale_db.py exited $?)"
        echo '```'
    } | tee -a "$OUT/summary.md"
fi
echo
echo "summary: $OUT/summary.md"
