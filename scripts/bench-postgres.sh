#!/usr/bin/env bash
# The PostgreSQL store benchmarks of BENCHMARKS.md ("PostgreSQL store"):
#   1. `pwsentry stale` over N accounts (default 10 million), loaded with
#      COPY from a generator: wall time, CPU time and peak RSS of pwsentry;
#   2. `pwsentry record` from 16 concurrent clients, on PostgreSQL and on
#      SQLite, with the repository's policy.toml (argon2id m=19456,t=2):
#      wall time and the CPU time of the clients (and of the server).
# Starts its own throwaway server (Debian's initdb/pg_ctl, a Unix socket in
# a temporary directory, as `nobody` when run as root) and removes it.
# Usage: scripts/bench-postgres.sh [stale|record|all]   (N=… CLIENTS=… RECORDS=…)
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
N=${N:-10000000}
CLIENTS=${CLIENTS:-16}
RECORDS=${RECORDS:-8}
cargo build --release --locked -p pwsentry-cli >/dev/null
BIN=$PWD/target/release/pwsentry
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
DIR=$(mktemp -d /tmp/pwsentry-pgbench-XXXXXX)
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
  chown nobody:nogroup "$DIR"
  as_pg=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
fi
stop() {
  "${as_pg[@]}" "$PGBIN/pg_ctl" -D "$DIR/data" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$DIR"
}
trap stop EXIT
"${as_pg[@]}" "$PGBIN/initdb" -D "$DIR/data" -U bench --auth=trust -E UTF8 --locale=C >/dev/null
cat >>"$DIR/data/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$DIR'
shared_buffers = 256MB
max_connections = 100
EOF
"${as_pg[@]}" "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w start >/dev/null
psql() { "$PGBIN/psql" -X -q -At -h "$DIR" -U bench "$@"; }
psql -d postgres -c "CREATE DATABASE bench"
URL="postgres:///bench?host=$DIR&user=bench"
"$BIN" --db "$URL" store migrate

# Server CPU so far (its own and its reaped backends'), in seconds.
server_cpu() {
  local pid; pid=$(head -1 "$DIR/data/postmaster.pid")
  awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15 + $16 + $17) / hz }' "/proc/$pid/stat"
}

if [ "$what" = stale ] || [ "$what" = all ]; then
  echo "== loading $N accounts (COPY from a generator)"
  t0=$(date +%s)
  python3 - "$N" <<'EOF' | psql -d bench -c "\copy pwsentry.accounts (account, salt, changed_at) FROM STDIN"
import sys, time
n = int(sys.argv[1])
base = 1735689600  # 2025-01-01
stamps = [time.strftime("%Y-%m-%d %H:%M:%S+00", time.gmtime(base + i * 3163)) for i in range(100003)]
out = sys.stdout
salt = "\\\\x" + "5a" * 16
for i in range(n):
    out.write(f"user{i:08d}@example.com\t{salt}\t{stamps[i % 100003]}\n")
EOF
  # `stale` reads only `accounts`; ENTRIES=1 also gives each an entry.
  [ "${ENTRIES:-0}" = 1 ] && psql -d bench -c "INSERT INTO pwsentry.entries (account, set_at, hash, peppered)
      SELECT account, changed_at, '\$argon2id\$v=19\$m=19456,t=2,p=1\$WlpaWlpaWlpaWlpaWlpaWg\$' || md5(account), false
        FROM pwsentry.accounts"
  psql -d bench -c "ANALYZE"
  echo "loaded in $(( $(date +%s) - t0 )) s; accounts: $(psql -d bench -c 'SELECT count(*) FROM pwsentry.accounts')"
  echo "database size: $(psql -d bench -c "SELECT pg_size_pretty(pg_database_size('bench'))")"
  # Every account is stale at this time (max_age_days = 90).
  for fmt in text json; do
    flag=(); [ $fmt = json ] && flag=(--json)
    s0=$(server_cpu)
    /usr/bin/time -f "stale ($fmt): %e s wall, %U s user, %S s sys, %M KiB max RSS (pwsentry)" \
      "$BIN" --policy policy.toml --db "$URL" --now 2040-01-01T00:00:00Z "${flag[@]}" stale >"$DIR/out" || true
    echo "  lines out: $(wc -l <"$DIR/out"), server CPU: $(awk -v a="$(server_cpu)" -v b="$s0" "BEGIN{print a-b}") s"
  done
fi

if [ "$what" = record ] || [ "$what" = all ]; then
  race() { # $1 = --db value
    local db=$1
    export db BIN RECORDS
    seq 1 "$CLIENTS" | xargs -P "$CLIENTS" -I{} bash -c '
      for i in $(seq 1 "$RECORDS"); do
        # Random words apart, so that no record is refused as near reuse.
        printf "Velvet#%s#Orbit#%s\n" "$(openssl rand -hex 6)" "$(openssl rand -hex 6)" |
          "$BIN" --policy policy.toml --db "$db" record --force --account "client{}@example.com" >/dev/null
      done'
  }
  echo "== record: $CLIENTS concurrent clients x $RECORDS records each"
  psql -d bench -c "TRUNCATE pwsentry.accounts CASCADE"
  s0=$(server_cpu)
  /usr/bin/time -f "postgres: %e s wall, %U s user, %S s sys (all clients)" bash -c "$(declare -f race); CLIENTS=$CLIENTS; race '$URL'"
  echo "  server CPU: $(awk -v a="$(server_cpu)" -v b="$s0" "BEGIN{print a-b}") s; entries: $(psql -d bench -c 'SELECT count(*) FROM pwsentry.entries')"
  /usr/bin/time -f "sqlite:   %e s wall, %U s user, %S s sys (all clients)" bash -c "$(declare -f race); CLIENTS=$CLIENTS; race '$DIR/history.db'"
  echo "  entries: $(sqlite3 "$DIR/history.db" 'SELECT count(*) FROM entries')"
fi
