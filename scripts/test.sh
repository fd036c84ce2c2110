#!/usr/bin/env bash
# Runs pwsentry's whole test suite on a fresh machine. First it installs,
# with apt-get, the real components the tests start themselves:
#   dovecot-core   doveadm (hash checks, crypt hashes) and a real Dovecot
#                  that authenticates from the passwd-file pwsentry writes
#   postgresql     initdb/pg_ctl: the PostgreSQL store tests' own server
#   openssl, curl  certificates and an HTTPS client for `serve --tls-cert`
#                  and PostgreSQL over TLS
#   tmux, sqlite3  the interactive prompt's tests; raw looks at the database
#   libpam0g-dev   libpam.so to link the PAM module (crates/pam-pwsentry),
#                  and libpam's headers for the small PAM application its
#                  tests compile with cc (tests/pam/hostile_conv.c)
#   pamtester      drives real PAM in the module's tests, which add a
#                  throwaway user and /etc/pam.d files (as root) and let
#                  the real pam_unix change /etc/shadow
#   chromium, chromium-driver
#                  headless Chromium driven over WebDriver: the
#                  self-service page's tests run in a real browser
#                  (fonts-liberation: text to render; only recommended)
#   python3-aiosmtpd  a real SMTP server that receives `pwsentry notify`'s
#                  reminder mails (started by the tests on 127.0.0.1)
# then runs every unit, integration and doc test of the workspace. Needs
# root (or sudo) the first time; later runs skip what is installed. The
# PAM module's tests need root every time (CI runs as root): without it
# they fail and say so.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v doveadm >/dev/null 2>&1 || need+=(dovecot-core)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v curl >/dev/null 2>&1 || need+=(curl ca-certificates)
command -v tmux >/dev/null 2>&1 || need+=(tmux)
command -v sqlite3 >/dev/null 2>&1 || need+=(sqlite3)
[ -e /usr/include/security/pam_modules.h ] || need+=(libpam0g-dev)
command -v pamtester >/dev/null 2>&1 || need+=(pamtester)
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -x /usr/bin/chromedriver ] || need+=(chromium-driver)
[ -d /usr/share/fonts/truetype/liberation ] || need+=(fonts-liberation)
# Debian's python3 (/usr/bin), whatever python3 comes first in PATH.
/usr/bin/python3 -c 'import aiosmtpd' >/dev/null 2>&1 || need+=(python3-aiosmtpd)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing (for the tests' real components): ${need[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

cargo test --locked --workspace "$@"
