#!/usr/bin/env bash
# Runs pwsentry's whole test suite on a fresh machine: installs the real
# peers the tests use (Dovecot's doveadm, tmux, sqlite3; Debian's PostgreSQL
# server and openssl, for the PostgreSQL store tests, which start their own
# server with initdb/pg_ctl and a test CA), then runs every
# unit, integration and doc test. Needs root (or sudo) for apt-get the
# first time; later runs skip what is already installed.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v doveadm >/dev/null 2>&1 || need+=(dovecot-core)
command -v tmux >/dev/null 2>&1 || need+=(tmux)
command -v sqlite3 >/dev/null 2>&1 || need+=(sqlite3)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

cargo test --locked --workspace "$@"
