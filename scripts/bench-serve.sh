#!/usr/bin/env bash
# The `pwsentry serve` benchmarks of BENCHMARKS.md ("HTTP server"), with
# wrk (Debian's `wrk`) on loopback against a release build:
#   1. /v1/check at full load: 32 keep-alive connections, requests/s and
#      latency percentiles;
#   2. /v1/check at half that rate (each connection waits between requests,
#      wrk's `delay()`), latency percentiles (the p99 target);
#   3. /v1/change: sequential changes of one account (verify the current
#      password, evaluate, write the passwd-file, record): wall time and
#      the server's CPU time per change;
#   4. a burst of 64 concurrent wrong current passwords: the server's peak
#      RSS against its argon2 memory cap.
# Usage: scripts/bench-serve.sh   (DURATION=15 CONNECTIONS=32 CHANGES=20)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-15}
CONNECTIONS=${CONNECTIONS:-32}
CHANGES=${CHANGES:-20}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 2; }
cargo build --release --locked -p pwsentry-cli >/dev/null
BIN=$PWD/target/release/pwsentry
DIR=$(mktemp -d /tmp/pwsentry-servebench-XXXXXX)
PORT=${PORT:-18425}
cleanup() { [ -n "${SERVER:-}" ] && kill "$SERVER" 2>/dev/null; wait 2>/dev/null; rm -rf "$DIR"; }
trap cleanup EXIT

# The shipped policy (argon2id m=19456,t=2 history; Dovecot's m=65536,t=3
# for the passwd-file), a passwd-file of 64 accounts with one password.
# min_age_days = 0 so that one account can change again at once.
sed 's/^min_age_days = .*/min_age_days = 0/' policy.toml >"$DIR/policy.toml"
FIELD=$(printf 'Start#Orbit#Canyon42\n' | "$BIN" --policy "$DIR/policy.toml" --db "$DIR/seed.db" set --account seed@example.com --print-hash dovecot 2>/dev/null)
for i in $(seq 0 63); do echo "user$i@example.com:$FIELD::::::"; done >"$DIR/users"
chmod 600 "$DIR/users"

"$BIN" --policy "$DIR/policy.toml" --db "$DIR/history.db" serve --listen "127.0.0.1:$PORT" \
  --passwd-file "$DIR/users" --check-rate 1000000 --change-rate 1000000 --max-failures 1000 \
  2>"$DIR/server.log" &
SERVER=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
cpu() { awk '{print $14 + $15}' "/proc/$SERVER/stat"; }   # utime + stime, clock ticks
TICK=$(getconf CLK_TCK)

# Realistic candidates, weak and strong, cycled per request.
cat >"$DIR/check.lua" <<'LUA'
local bodies = {}
for _, p in ipairs({"password1", "Velvet#Orbit#Canyon42", "correct horse battery staple",
                    "Summer2024!", "qwertyuiop", "T7#kq9!Lm2$z", "alice@example.com", "Tr0ub4dor&3"}) do
  bodies[#bodies + 1] = '{"password":"' .. p .. '","account":"alice@example.com"}'
end
local n = 0
request = function()
  n = n + 1
  return wrk.format("POST", "/v1/check", {["Content-Type"] = "application/json"}, bodies[n % #bodies + 1])
end
LUA

echo "== /v1/check, full load ($CONNECTIONS connections, ${DURATION}s)"
c0=$(cpu)
wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$DIR/check.lua" "http://127.0.0.1:$PORT" | tee "$DIR/full.txt"
c1=$(cpu)
RPS=$(awk '/Requests\/sec/ {print int($2)}' "$DIR/full.txt")
REQS=$(awk '/requests in/ {print $1}' "$DIR/full.txt")
echo "server CPU per request: $(echo "($c1 - $c0) * 1000000 / $TICK / $REQS" | bc) µs"
rss() { echo "server RSS now $(($(awk '/VmRSS/ {print $2}' "/proc/$SERVER/status") / 1024)) MiB, peak $(($(awk '/VmHWM/ {print $2}' "/proc/$SERVER/status") / 1024)) MiB"; }
rss

HALF=$((RPS / 2))
# Each connection: one request, then a pause, so that CONNECTIONS
# connections together offer about HALF requests per second.
DELAY=$(echo "$CONNECTIONS * 1000 / $HALF" | bc -l)
sed "s/^request = function()/delay = function() return $DELAY end\nrequest = function()/" "$DIR/check.lua" >"$DIR/paced.lua"
echo "== /v1/check, half load (~$HALF requests/s offered: $CONNECTIONS connections, ${DELAY} ms apart)"
wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$DIR/paced.lua" "http://127.0.0.1:$PORT"

echo "== /v1/change, $CHANGES sequential changes of one account"
prev='Start#Orbit#Canyon42'
mapfile -t NEXT < <("$BIN" --policy "$DIR/policy.toml" generate --count "$CHANGES")
c0=$(cpu)
times=()
for i in $(seq 1 "$CHANGES"); do
  next=${NEXT[$((i - 1))]}
  body=$(printf '%s\n%s\n' "$prev" "$next" | python3 -c 'import json,sys; c, n = sys.stdin.read().split("\n")[:2]; print(json.dumps({"account": "user0@example.com", "current_password": c, "new_password": n}))')
  t=$(curl -s -o "$DIR/out" -w '%{time_total}' -H 'Content-Type: application/json' --data-binary @- \
      "http://127.0.0.1:$PORT/v1/change" <<<"$body")
  grep -q '"changed":true' "$DIR/out" || { echo "change $i failed: $(cat "$DIR/out")" >&2; exit 1; }
  times+=("$t")
  prev=$next
done
c1=$(cpu)
printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "wall per change: median %.0f ms (min %.0f, max %.0f)\n", a[int((NR+1)/2)]*1000, a[1]*1000, a[NR]*1000}'
echo "server CPU per change: $(echo "($c1 - $c0) * 1000 / $TICK / $CHANGES" | bc) ms"
rss

echo "== burst: 64 concurrent wrong current passwords (argon2 cap: 256 MiB)"
rss0=$(awk '/VmHWM/ {print $2}' "/proc/$SERVER/status")
for i in $(seq 0 63); do
  body=$(printf '{"account":"user%d@example.com","current_password":"wrong-%d","new_password":"Other#Tundra#Lantern5"}' "$((i % 63 + 1))" "$i")
  curl -s -o /dev/null -w '%{http_code}\n' -H 'Content-Type: application/json' --data-binary "$body" \
    "http://127.0.0.1:$PORT/v1/change" >>"$DIR/burst.txt" &
done
wait $(jobs -p | grep -v "^$SERVER$") 2>/dev/null || true
sleep 0.5
rss1=$(awk '/VmHWM/ {print $2}' "/proc/$SERVER/status")
echo "answers: $(sort "$DIR/burst.txt" | uniq -c | tr '\n' ' ')"
echo "server peak RSS: before the burst $((rss0 / 1024)) MiB, after $((rss1 / 1024)) MiB"
if grep -qF -e 'Start#Orbit' -e 'wrong-' "$DIR/server.log" || grep -qF -f <(printf '%s\n' "${NEXT[@]}") "$DIR/server.log"; then
  echo "a password reached the server log" >&2; exit 1
fi
