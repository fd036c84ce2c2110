#!/usr/bin/env python3
"""Build a pwsentry history database with many accounts and measure `stale`.

Usage:
    cargo build --release
    python3 bench/make_stale_db.py [--accounts 1000000] [--dir /tmp/pwsentry-stale-bench]

The schema is created by pwsentry itself (one `record`), so this script
never has to know the migrations; it then bulk-inserts accounts, each with
one history entry (a well-formed argon2id PHC string, the same for all:
`stale` never reads it) and a change
time spread uniformly over the two years before --now, so most accounts are
stale or expiring under the default policy (max_age_days = 90,
warn_days = 14): the report's worst case.

It then runs `pwsentry stale` (JSON and text, output to /dev/null) under
`/usr/bin/time -v` and prints wall time, peak RSS and rows reported, and
fails if the targets (< 3 s, < 100 MB) are missed.
"""

import argparse
import base64
import os
import random
import re
import sqlite3
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta, timezone

NOW = "2026-01-31T12:00:00Z"
TARGET_SECONDS = 3.0
TARGET_RSS_KB = 100_000_000 // 1024  # 100 MB, in the KiB that time(1) reports
POLICY = """
[rotation]
max_age_days = 90
warn_days = 14
[hashing]
memory_kib = 64
iterations = 1
allow_weak_parameters = true
"""


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def build(db: str, pwsentry: str, accounts: int, policy: str) -> None:
    if os.path.exists(db):
        os.remove(db)
    # Let pwsentry create the file (mode 0600) and its schema.
    seed = subprocess.run(
        [pwsentry, "--db", db, "--policy", policy, "--now", NOW, "record", "--account", "seed@example.com"],
        input="Velvet#Orbit#Canyon42\n", text=True, capture_output=True,
    )
    if seed.returncode != 0:
        sys.exit(f"pwsentry record failed: {seed.stderr}")
    now = int(datetime.strptime(NOW, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp())
    span = int(timedelta(days=730).total_seconds())
    rng = random.Random(42)
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA synchronous = OFF")
    with conn:
        def accounts_rows():
            for i in range(1, accounts):
                yield (f"user{i:07d}@example.com", rng.randbytes(16), now - rng.randrange(span))
        conn.executemany("INSERT INTO accounts (account, salt, changed_at) VALUES (?, ?, ?)", accounts_rows())
        conn.execute(
            "INSERT INTO entries (account, set_at, hash, peppered) "
            "SELECT account, changed_at, '$argon2id$v=19$m=19456,t=2,p=1$' || ?1 || '$' || ?2, 0 "
            "FROM accounts WHERE account <> 'seed@example.com'",
            (b64(rng.randbytes(16)), b64(rng.randbytes(32))),
        )
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def measure(db: str, pwsentry: str, policy: str, json_output: bool) -> tuple[float, int, int]:
    args = ["/usr/bin/time", "-v", pwsentry, "--db", db, "--policy", policy, "--now", NOW]
    args += ["--json", "stale"] if json_output else ["stale"]
    with tempfile.TemporaryFile() as out:
        run = subprocess.run(args, stdout=out, stderr=subprocess.PIPE, text=True)
        out.seek(0)
        data = out.read()
    if run.returncode not in (0, 1):
        sys.exit(f"pwsentry stale failed ({run.returncode}): {run.stderr}")
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", run.stderr)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", run.stderr)
    if not wall or not rss:
        sys.exit(f"cannot read /usr/bin/time output:\n{run.stderr}")
    seconds = int(wall.group(1) or 0) * 3600 + int(wall.group(2)) * 60 + float(wall.group(3))
    rows = data.count(b'"account"') if json_output else max(data.count(b"\n") - 2, 0)
    return seconds, int(rss.group(1)), rows


def main() -> None:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(root, "target"))
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--accounts", type=int, default=1_000_000)
    p.add_argument("--dir", default=os.path.join(tempfile.gettempdir(), "pwsentry-stale-bench"))
    p.add_argument("--pwsentry", default=os.path.join(target, "release", "pwsentry"))
    p.add_argument("--reuse", action="store_true", help="measure an existing database without rebuilding it")
    a = p.parse_args()
    if not os.path.exists(a.pwsentry):
        sys.exit(f"{a.pwsentry} not found: run `cargo build --release` first (or pass --pwsentry)")
    os.makedirs(a.dir, exist_ok=True)
    db = os.path.join(a.dir, "history.db")
    policy = os.path.join(a.dir, "policy.toml")
    with open(policy, "w") as f:
        f.write(POLICY)
    if not (a.reuse and os.path.exists(db)):
        started = datetime.now()
        build(db, a.pwsentry, a.accounts, policy)
        print(f"built {db}: {a.accounts} accounts, {os.path.getsize(db) / 1e6:.0f} MB, "
              f"in {(datetime.now() - started).total_seconds():.1f} s")
    ok = True
    for json_output in (True, False):
        seconds, rss_kb, rows = measure(db, a.pwsentry, policy, json_output)
        fmt = "json" if json_output else "text"
        good = seconds < TARGET_SECONDS and rss_kb < TARGET_RSS_KB
        ok &= good
        print(f"stale --{fmt}: {rows} accounts reported, wall {seconds:.2f} s, peak RSS {rss_kb / 1024:.1f} MiB"
              f" [{'ok' if good else 'MISSED'}: < {TARGET_SECONDS:.0f} s, < 100 MB]")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
