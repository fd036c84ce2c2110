#!/usr/bin/env bash
# CPU time and peak RSS of one `pwsentry check --account` process against
# the history cases of issue 9 (BENCHMARKS.md, "History cost bounds"):
#   native   - 5 entries recorded by pwsentry at the shipped policy
#              (argon2id m=19456 KiB, t=2)
#   dovecot  - 2 imported Dovecot-default hashes (m=65536 KiB, t=3)
#   tampered - 1 entry edited in the database to m=1 GiB, t=64
#   rejected - the password "x" against the 5 native entries
#   batch16  - `check --batch` of 16 passwords against the dovecot case
#              (the argon2 memory cap across threads, default 256 MiB)
#   many_salts - 20,000 rows at m=8 KiB, t=1, each with its own salt,
#              added with sqlite3 (every entry its own group), under the
#              shipped policy with remember_days = 36500 (all are remembered)
# Each case runs RUNS times (default 5); the median user+system CPU
# seconds and the median peak RSS (MB) are printed. Needs sqlite3 and GNU
# time (/usr/bin/time).
#
#   scripts/bench-history.sh [path/to/pwsentry]   (default target/release/pwsentry)
#   CASES="native dovecot" RUNS=3 scripts/bench-history.sh /tmp/old-pwsentry
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${1:-target/release/pwsentry}")
runs=${RUNS:-5}
cases=${CASES:-native dovecot tampered rejected batch16 many_salts}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
policy=$(realpath policy.toml)
now=2026-06-01T12:00:00Z
sed 's/^remember_days = 0$/remember_days = 36500/' "$policy" >"$dir/remember-all.toml"
grep -q '^remember_days = 36500$' "$dir/remember-all.toml"
policy_of() { if [ "$1" = many_salts ]; then echo "$dir/remember-all.toml"; else echo "$policy"; fi; }
pw() { "$bin" --policy "$(policy_of "$1")" --db "$dir/$1.db" --now "$now" "${@:2}"; }
pw_at() { "$bin" --policy "$(policy_of "$2")" --db "$dir/$2.db" --now "$1" "${@:3}"; }

# The hashes' digests need not be of any password: the cost of checking a
# candidate against an entry does not depend on it.
salt() { head -c 16 /dev/urandom | base64 | tr -d '=\n'; }
digest=SGFzaGhhc2hoYXNoaGFzaEhhc2hoYXNoaGFzaGhhc2g

setup() {
  case $1 in
    native | rejected)
      # A day apart, before $now: the shipped policy's min_age_days = 1
      # refuses quicker changes, and a check inside it would hash nothing.
      day=1
      for p in 'Velvet#Orbit#Canyon17' 'Marble&Quartz&Heron28' 'Tundra!Lantern!Opal39' \
        'Cobalt?Meadow?Fjord46' 'Saffron+Glacier+Wren53'; do
        printf '%s\n' "$p" | pw_at "2026-05-0${day}T12:00:00Z" "$1" record --account a@example.com >/dev/null
        day=$((day + 1))
      done ;;
    dovecot | batch16)
      printf '{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$%s$%s\n' "$(salt)" "$digest" "$(salt)" "$digest" |
        pw "$1" import --account a@example.com >/dev/null ;;
    tampered)
      printf 'Velvet#Orbit#Canyon17\n' | pw_at 2026-05-01T12:00:00Z "$1" record --account a@example.com >/dev/null
      sqlite3 "$dir/$1.db" "UPDATE entries SET hash = '\$argon2id\$v=19\$m=1048576,t=64,p=1\$$(salt)\$$digest'" ;;
    many_salts)
      printf 'Velvet#Orbit#Canyon17\n' | pw_at 2026-05-01T12:00:00Z "$1" record --account a@example.com >/dev/null
      # hex() of 16 random bytes is valid base64 (a 24-byte salt).
      sqlite3 "$dir/$1.db" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
        INSERT INTO entries (account, set_at, hash, peppered)
        SELECT 'a@example.com', 1700000000 - i, '\$argon2id\$v=19\$m=8,t=1,p=1\$' || hex(randomblob(16)) || '\$$digest', 0 FROM n" ;;
  esac
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

printf '%-9s %9s %8s\n' case cpu_s rss_mb
for c in $cases; do
  setup "$c"
  candidate='Granite@Willow@Comet2024!'
  batch=()
  [ "$c" = rejected ] && candidate=x
  if [ "$c" = batch16 ]; then
    candidate=$(for i in $(seq 16); do printf 'Granite@Willow@Comet#%s\n' "$i"; done)
    batch=(--batch)
  fi
  : >"$dir/times"
  for _ in $(seq "$runs"); do
    printf '%s\n' "$candidate" |
      /usr/bin/time -f '%U %S %M' -a -o "$dir/times" \
        "$bin" --policy "$(policy_of "$c")" --db "$dir/$c.db" --now "$now" check "${batch[@]}" --account a@example.com >/dev/null || true
  done
  # GNU time adds "Command exited with non-zero status 1" for rejections.
  grep -E '^[0-9.]+ [0-9.]+ [0-9]+$' "$dir/times" >"$dir/figures"
  cpu=$(awk '{printf "%.3f\n", $1 + $2}' "$dir/figures" | median)
  rss=$(awk '{printf "%.1f\n", $3 / 1024}' "$dir/figures" | median)
  printf '%-9s %9s %8s\n' "$c" "$cpu" "$rss"
done
