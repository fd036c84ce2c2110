#!/bin/sh
# What pam_pwsentry.so costs in one PAM transaction (BENCHMARKS.md, "PAM
# module"), driven by pamtester like its tests, as root:
#
#   sudo bench/pam.sh [MODULE]        default: target/release/libpam_pwsentry.so
#
# Sets up a throwaway user, a policy (the shipped one, with a 90-day
# rotation) and a history of 5 passwords in a private folder, and service
# files under /etc/pam.d; removes them all on exit. Wall time with
# hyperfine (30 runs after 3 warm-ups), pamtester and its shell included;
# the same transaction with pam_permit alone gives that baseline.
# Needs pamtester and hyperfine. Takes about a minute.
set -eu
cd "$(dirname "$0")/.."
module=$(realpath "${1:-target/release/libpam_pwsentry.so}")
[ -f "$module" ] || { echo "$module: missing (cargo build --release -p pam-pwsentry)" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "run as root: it adds a user and /etc/pam.d files" >&2; exit 2; }
user="pwsb$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')"
work=$(mktemp -d)
svc="pwsentry-bench-$user"
cleanup() { rm -rf "$work"; rm -f "/etc/pam.d/$svc" "/etc/pam.d/$svc-base"; userdel "$user" 2>/dev/null || true; }
trap cleanup EXIT INT TERM
useradd --no-create-home --shell /usr/sbin/nologin "$user"
echo "$user:Initial#Granite#Otter58" | chpasswd
cp policy.toml "$work/policy.toml"
opts="policy=$work/policy.toml db=$work/history.db"
cat > "/etc/pam.d/$svc" <<PAM
account  required                    $module $opts
password requisite                   $module $opts
password [success=1 default=ignore]  pam_unix.so use_authtok yescrypt
password requisite                   pam_deny.so
password optional                    $module record
password required                    pam_permit.so
PAM
cat > "/etc/pam.d/$svc-base" <<PAM
account  required  pam_permit.so
password required  pam_permit.so
PAM
# A history of 5 passwords, the last one current.
for pw in 'Velvet#Orbit#Canyon42' 'Marble&Quartz&Heron7' 'Lantern&Meadow&Falcon31' \
          'Copper!Tundra!Willow86' 'Saffron@Glacier@Pike19'; do
    printf '%s\n%s\n' "$pw" "$pw" | pamtester "$svc" "$user" chauthtok >/dev/null 2>&1 ||
        { echo "could not set a password of the history" >&2; exit 1; }
done
printf 'summer2024\n' > "$work/weak"
printf 'Lantern&Meadow&Falcon31\n' > "$work/reused"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); module $(stat -c %s "$module") bytes"
hyperfine -N --warmup 3 --runs 30 --style basic \
    -n "acct_mgmt, pam_permit only" "pamtester $svc-base $user acct_mgmt" \
    -n "acct_mgmt, pam_pwsentry (history of 5)" "pamtester $svc $user acct_mgmt"
# pamtester reads the answers on stdin: through a shell (its start-up is in
# every figure). A refused change exits 1, as it should: --ignore-failure.
hyperfine --warmup 3 --runs 30 --style basic --ignore-failure \
    -n "chauthtok, weak password refused (no argon2)" "pamtester $svc $user chauthtok < $work/weak" \
    -n "chauthtok, reused password refused (history of 5)" "pamtester $svc $user chauthtok < $work/reused" \
    -n "chauthtok, pam_permit only" "pamtester $svc-base $user chauthtok < $work/weak"
