#!/usr/bin/env python3
"""Measure `pwsentry notify` on a history of many accounts.

Usage:
    cargo build            # or --release, and pass --pwsentry target/release/pwsentry
    python3 bench/notify_scale.py [--accounts 1000000] [--send 1000]

Builds the database of bench/make_stale_db.py (change times spread over
the two years before 2026-01-31, so at that date most accounts are stale
or have a reminder due under max_age_days = 90, remind_days = [14, 7, 1]),
then, under `/usr/bin/time -v`:

1. `notify --dry-run --now 2026-01-31T12:00:00Z --json`: plans and renders
   a reminder for every due account (nothing is sent), output to a file;
2. marks every account but --send of them as already told (the stale
   notice, in the `reminders` table), starts aiosmtpd (Debian's
   python3-aiosmtpd) on 127.0.0.1 with a Maildir, and runs a real
   `notify`: it walks every account, skips the told ones and sends --send
   mails over one SMTP connection;
3. reruns it: nothing is due, every account is walked and skipped.

Prints wall time, peak RSS and the number of reminders of each run.
"""

import argparse
import importlib.util
import os
import re
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

NOW = "2026-01-31T12:00:00Z"

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("make_stale_db", os.path.join(HERE, "make_stale_db.py"))
make_stale_db = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make_stale_db)


def timed(cmd, out_path):
    with open(out_path, "w") as out:
        r = subprocess.run(["/usr/bin/time", "-v"] + cmd, stdout=out, stderr=subprocess.PIPE, text=True)
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):(\d+\.\d+)", r.stderr)
    h, m, s = wall.groups()
    seconds = int(h or 0) * 3600 + int(m) * 60 + float(s)
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr).group(1))
    with open(out_path) as f:
        lines = sum(1 for _ in f)
    return r.returncode, seconds, rss, lines, r.stderr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--accounts", type=int, default=1_000_000)
    ap.add_argument("--send", type=int, default=1000)
    ap.add_argument("--dir", default=None)
    ap.add_argument("--pwsentry", default=os.path.join(HERE, "..", "target", "debug", "pwsentry"))
    a = ap.parse_args()
    work = a.dir or tempfile.mkdtemp(prefix="pwsentry-notify-bench-")
    os.makedirs(work, exist_ok=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    policy = os.path.join(work, "policy.toml")
    with open(policy, "w") as f:
        f.write(make_stale_db.POLICY.replace("warn_days = 14", "warn_days = 14\nremind_days = [14, 7, 1]"))
        f.write(
            "[notify]\nfrom = \"pwsentry <noreply@example.com>\"\n"
            "change_url = \"https://mail.example.com/password\"\n"
            f"smtp_host = \"127.0.0.1\"\nsmtp_port = {port}\n"
        )
    db = os.path.join(work, "history.db")
    t = time.time()
    make_stale_db.build(db, a.pwsentry, a.accounts, policy)
    print(f"built {a.accounts} accounts in {time.time() - t:.0f} s ({os.path.getsize(db) >> 20} MiB)")
    base = [a.pwsentry, "--policy", policy, "--db", db, "--json"]

    code, secs, rss, n, err = timed(base + ["--now", NOW, "notify", "--dry-run"], os.path.join(work, "dry.jsonl"))
    print(f"notify --dry-run: exit {code}, {n} reminders due, {secs:.2f} s, peak RSS {rss / 1024:.1f} MiB")

    conn = sqlite3.connect(db)
    with conn:
        conn.execute(
            "INSERT INTO reminders (account, changed_at, days, sent_at) "
            "SELECT account, changed_at, 0, 0 FROM accounts "
            "WHERE account NOT IN (SELECT account FROM accounts ORDER BY account LIMIT ?)",
            (a.send,),
        )
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()

    mail = os.path.join(work, "mail")
    server = subprocess.Popen(
        ["/usr/bin/python3", "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}", "-c", "aiosmtpd.handlers.Mailbox", mail],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        code, secs, rss, n, err = timed(base + ["notify"], os.path.join(work, "sent.jsonl"))
        received = len(os.listdir(os.path.join(mail, "new")))
        print(f"notify ({a.send} due, the rest told): exit {code}, {n} lines, {received} received, {secs:.2f} s, peak RSS {rss / 1024:.1f} MiB")
        if code != 0:
            print(err, file=sys.stderr)
        code, secs, rss, n, err = timed(base + ["notify"], os.path.join(work, "again.jsonl"))
        print(f"notify again (nothing due): exit {code}, {n} lines, {secs:.2f} s, peak RSS {rss / 1024:.1f} MiB")
    finally:
        server.kill()
        server.wait()
    print(f"files in {work}")


if __name__ == "__main__":
    main()
