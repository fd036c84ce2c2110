//! The module attacked as an outsider would (issue 15's review): files the
//! user running `passwd` could change, a hostile environment and current
//! directory, and a hostile PAM conversation. Each test is a reproduction
//! of the attack, asserting that it fails the way docs/pam.md says.

use super::sandbox::Sandbox;
use super::{STRONG, STRONG2, UNIX, standard};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Every name under `dir`, with its size, sorted: to see that nothing was
/// created, removed or written there.
fn listing(dir: &Path) -> Vec<(PathBuf, u64)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let meta = std::fs::symlink_metadata(entry.path()).unwrap();
        out.push((entry.path(), meta.len()));
        if meta.is_dir() {
            out.extend(listing(&entry.path()));
        }
    }
    out.sort();
    out
}

/// A policy the user wrote would let them set any password, and its
/// `[store] path` would make root create files where they choose. The
/// library accepts a policy that is not writable by everyone, so the
/// module checks owners and modes itself: the user's policy, a
/// group-writable one, and a history in a folder the user's group may
/// write (where the group could delete it and reuse old passwords) all
/// fail closed.
#[test]
fn files_the_user_could_change_fail_closed() {
    let mut sb = Sandbox::new();
    let (uid, gid) = sb.ids();
    let before = sb.shadow_hash();
    // Rules that accept "a", in a file the user owns.
    let lax = "preset = \"seed\"\n[length]\nmin = 1\n[composition]\nmin_letters = 0\n\
               min_digits = 0\nmin_symbols = 0\n[strength]\nmin_score = 0\n\
               [store]\npath = \"planted/history.db\"\n";
    let own = sb.dir().join("own.toml");
    std::fs::write(&own, lax).unwrap();
    chmod(&own, 0o644);
    std::os::unix::fs::chown(&own, Some(uid), None).unwrap();
    let svc = sb.service(&format!(
        "password requisite {{module}} policy={}\n\
         password [success=1 default=ignore] {UNIX}\n\
         password requisite pam_deny.so\n\
         password optional {{module}} record\n\
         password required pam_permit.so\n",
        own.display()
    ));
    let run = sb.pamtester(&svc, "chauthtok", &["a", "a"]);
    assert!(
        !run.success,
        "the user's own rules were used:\n{}",
        run.output
    );
    assert!(
        run.output.contains("cannot be checked now"),
        "{}",
        run.output
    );
    assert!(!run.output.contains("New password:"), "{}", run.output);
    assert_eq!(sb.shadow_hash(), before);
    assert!(
        !sb.dir().join("planted").exists(),
        "root created the user's folder"
    );

    // Root's file, but the user's group may write it.
    std::os::unix::fs::chown(&own, Some(0), Some(gid)).unwrap();
    chmod(&own, 0o664);
    let run = sb.pamtester(&svc, "chauthtok", &["a", "a"]);
    assert!(!run.success, "{}", run.output);
    assert!(
        run.output.contains("cannot be checked now"),
        "{}",
        run.output
    );
    assert_eq!(sb.shadow_hash(), before);

    // The sandbox's policy, the history in a root folder the group may write.
    let shared = sb.dir().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::os::unix::fs::chown(&shared, Some(0), Some(gid)).unwrap();
    chmod(&shared, 0o770);
    let svc = sb.service(&format!(
        "password requisite {{module}} policy={} db={}/history.db\n\
         password [success=1 default=ignore] {UNIX}\n\
         password requisite pam_deny.so\n\
         password optional {{module}} record\n\
         password required pam_permit.so\n",
        sb.policy_path().display(),
        shared.display()
    ));
    let run = sb.pamtester(&svc, "chauthtok", &[STRONG, STRONG]);
    assert!(!run.success, "{}", run.output);
    assert!(
        run.output.contains("cannot be checked now"),
        "{}",
        run.output
    );
    assert_eq!(sb.shadow_hash(), before);
    assert_eq!(
        listing(&shared),
        [],
        "a history was created where the group can delete it"
    );
}

/// The caller of the setuid `passwd` controls its environment and current
/// directory: none of `$PWSENTRY_*`, XDG, `$HOME`, `$SQLITE_TMPDIR`,
/// `$TMPDIR`, `$LANG`, `$TZ` or a `policy.toml` (and `history.db`) in the
/// current directory changes which rules apply or where anything is
/// written, even with a policy whose `[store] path` is relative.
#[test]
fn a_hostile_environment_and_current_directory_change_nothing() {
    let mut sb = Sandbox::new();
    let hostile = tempfile::tempdir().unwrap();
    let h = hostile.path();
    let lax = "[length]\nmin = 1\n[composition]\nmin_letters = 0\nmin_digits = 0\n\
               min_symbols = 0\n[strength]\nmin_score = 0\n";
    for folder in ["", "xdg/pwsentry", "tmp", ".config/pwsentry"] {
        std::fs::create_dir_all(h.join(folder)).unwrap();
        std::fs::write(h.join(folder).join("policy.toml"), lax).unwrap();
    }
    std::fs::write(h.join("history.db"), b"").unwrap();
    let before_listing = listing(h);
    // The sandbox's rules, with the history named relative to the policy.
    sb.write_policy(&format!(
        "{}[store]\npath = \"history.db\"\n",
        sandbox_policy()
    ));
    let svc = sb.service(&format!(
        "password requisite {{module}} policy={} retry=1\n\
         password [success=1 default=ignore] {UNIX}\n\
         password requisite pam_deny.so\n\
         password optional {{module}} record\n\
         password required pam_permit.so\n",
        sb.policy_path().display()
    ));
    // As root (an administrator's reset), or as `passwd` runs for a user:
    // setuid root, the real user id the caller's (setpriv).
    let (uid, _) = sb.ids();
    let hostile_run = |as_user: bool, answers: &[&str]| {
        let mut cmd = if as_user {
            let mut c = Command::new("setpriv");
            c.arg(format!("--ruid={uid}"))
                .arg("--euid=0")
                .arg("pamtester");
            c
        } else {
            Command::new("pamtester")
        };
        cmd.args(["-v", &svc, &sb.user, "chauthtok"])
            .current_dir(h)
            .env("PWSENTRY_POLICY", h.join("policy.toml"))
            .env("PWSENTRY_DB", h.join("history.db"))
            .env("HOME", h)
            .env("XDG_CONFIG_HOME", h.join("xdg"))
            .env("XDG_DATA_HOME", h.join("xdg"))
            .env("XDG_STATE_HOME", h.join("xdg"))
            .env("SQLITE_TMPDIR", h.join("tmp"))
            .env("TMPDIR", h.join("tmp"))
            .env("LANG", "C")
            .env("TZ", "Pacific/Kiritimati")
            .env("RUST_BACKTRACE", "full");
        sb.answer(cmd, answers)
    };
    let before = sb.shadow_hash();
    let run = hostile_run(false, &["a"]);
    assert!(
        !run.success,
        "the caller's rules were used:\n{}",
        run.output
    );
    assert!(
        run.output.contains("BAD PASSWORD: must be at least 8"),
        "{}",
        run.output
    );
    assert_eq!(sb.shadow_hash(), before);

    let run = hostile_run(false, &[STRONG, STRONG]);
    assert!(run.success, "{}", run.output);
    assert_ne!(sb.shadow_hash(), before);
    let history = sb.history().expect("recorded in the policy's folder");
    assert_eq!(history.entries().len(), 1);

    // The user, through a setuid program: pam_unix asks for the current
    // password first; the caller's rules still do not apply.
    let before = sb.shadow_hash();
    let run = hostile_run(true, &[STRONG, "a"]);
    assert!(!run.success, "{}", run.output);
    assert!(run.output.contains("Current password:"), "{}", run.output);
    assert!(
        run.output.contains("BAD PASSWORD: must be at least 8"),
        "{}",
        run.output
    );
    assert_eq!(sb.shadow_hash(), before);
    let run = hostile_run(true, &[STRONG, STRONG2, STRONG2]);
    assert!(run.success, "{}", run.output);
    assert_ne!(sb.shadow_hash(), before);
    assert_eq!(sb.history().unwrap().entries().len(), 2);
    assert_eq!(
        listing(h),
        before_listing,
        "something was written where the caller said"
    );
}

/// The sandbox's policy text (sandbox.rs's POLICY).
fn sandbox_policy() -> &'static str {
    super::sandbox::POLICY
}

/// `hostile_conv.c`, compiled for this test run with the system's C
/// compiler and libpam (libpam0g-dev, as the module itself needs).
fn hostile_conv(dir: &Path) -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pam/hostile_conv.c");
    let exe = dir.join("hostile_conv");
    let out = Command::new("cc")
        .args(["-Wall", "-O1", "-o"])
        .arg(&exe)
        .arg(&source)
        .arg("-lpam")
        .output()
        .expect("cc (the tests compile a small PAM application)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    exe
}

/// A conversation that answers 1 MiB, invalid UTF-8, nothing, a null
/// pointer, no response array or an error: every one is refused without
/// a panic, nothing is set or recorded, and the 1 MiB answer is refused
/// by its length without being scored (little memory, little time).
#[test]
fn a_hostile_conversation_is_refused_cleanly_and_cheaply() {
    let mut sb = Sandbox::new();
    let tools = tempfile::tempdir().unwrap();
    let app = hostile_conv(tools.path());
    let svc = standard(&mut sb);
    let before = sb.shadow_hash();
    let conv = |mode: &str, password: &str| {
        let mut cmd = Command::new(&app);
        cmd.args([&svc, &sb.user, "chauthtok", mode]);
        let started = std::time::Instant::now();
        let run = sb.answer(cmd, &[password]);
        (run, started.elapsed())
    };
    for (mode, password, says) in [
        (
            "big",
            STRONG,
            "BAD PASSWORD: must be at most 128 characters",
        ),
        (
            "badutf8",
            STRONG,
            "ERROR: The new password is not valid UTF-8 text.",
        ),
        ("plain", "", "RESULT: 20 "),
        ("nullresp", STRONG, "RESULT: 20 "),
        ("noresp", STRONG, "RESULT: 20 "),
        ("converr", STRONG, "RESULT: 20 "),
    ] {
        let (run, took) = conv(mode, password);
        assert!(!run.success, "{mode}: {}", run.output);
        assert!(run.output.contains(says), "{mode}: {}", run.output);
        assert!(!run.output.contains("panicked"), "{mode}: {}", run.output);
        assert_eq!(sb.shadow_hash(), before, "{mode}");
        assert!(sb.history().is_none(), "{mode}: recorded");
        if mode == "big" {
            let rss: u64 = run
                .output
                .lines()
                .find_map(|l| l.strip_prefix("MAXRSS_KB: "))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or_else(|| panic!("{}", run.output));
            // Measured: 16 MiB (the debug module mapped, libpam, the answer);
            // scoring 1 MiB with zxcvbn or hashing its variants would take
            // far more, and seconds.
            assert!(rss < 48 * 1024, "1 MiB answer: peak RSS {rss} KiB");
            assert!(took.as_secs() < 20, "1 MiB answer took {took:?}");
        }
    }
    // The same program, answering sanely, changes the password.
    let (run, _) = conv("plain", STRONG);
    assert!(run.success, "{}", run.output);
    assert_ne!(sb.shadow_hash(), before);
    assert_eq!(sb.history().unwrap().entries().len(), 1);
}

/// `policy=` and `db=` naming what is not a regular file (a FIFO, which a
/// blocking open would wait on forever, a device, a folder, a process's
/// memory) fail closed at once, before anyone is asked for a password.
#[test]
fn odd_files_fail_closed_without_hanging() {
    let mut sb = Sandbox::new();
    let before = sb.shadow_hash();
    let fifo = |name: &str, mode: u32| {
        let path = sb.dir().join(name);
        let out = Command::new("mkfifo")
            .arg("-m")
            .arg(format!("{mode:o}"))
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        path
    };
    let fifo_policy = fifo("fifo.toml", 0o644);
    let fifo_db = fifo("fifo.db", 0o600);
    let policy = sb.policy_path();
    let db = sb.db_path();
    let dir = sb.dir().to_owned();
    for (p, d) in [
        (fifo_policy.as_path(), db.as_path()),
        (&policy, &fifo_db),
        (Path::new("/dev/zero"), &db),
        (&policy, Path::new("/dev/zero")),
        (&dir, &db),
        (&policy, &dir),
        (&policy, Path::new("/proc/self/mem")),
    ] {
        let svc = sb.service(&format!(
            "password requisite {{module}} policy={} db={}\n\
             password [success=1 default=ignore] {UNIX}\n\
             password requisite pam_deny.so\n\
             password optional {{module}} record\n\
             password required pam_permit.so\n",
            p.display(),
            d.display()
        ));
        let started = std::time::Instant::now();
        let run = sb.pamtester(&svc, "chauthtok", &[STRONG, STRONG]);
        assert!(!run.success, "{p:?} {d:?}: {}", run.output);
        assert!(
            run.output.contains("cannot be checked now"),
            "{}",
            run.output
        );
        assert!(!run.output.contains("New password:"), "{}", run.output);
        assert!(
            started.elapsed().as_secs() < 10,
            "{p:?} {d:?}: {:?}",
            started.elapsed()
        );
        assert_eq!(sb.shadow_hash(), before);
    }
}

/// `use_authtok` with no module before it that set a password: libpam has
/// none to give, so the change fails at once, asking nothing, and nothing
/// is set or recorded (not a check of an empty password that pam_unix
/// then sets).
#[test]
fn use_authtok_without_an_earlier_module_fails_without_asking() {
    let mut sb = Sandbox::new();
    let before = sb.shadow_hash();
    let svc = sb.service(&format!(
        "password requisite {{module}} {{options}} use_authtok\n\
         password [success=1 default=ignore] {UNIX}\n\
         password requisite pam_deny.so\n\
         password optional {{module}} record\n\
         password required pam_permit.so\n"
    ));
    let run = sb.pamtester(&svc, "chauthtok", &[STRONG, STRONG]);
    assert!(!run.success, "{}", run.output);
    assert!(!run.output.contains("password:"), "asked:\n{}", run.output);
    assert!(
        run.output
            .contains("Authentication token manipulation error"),
        "{}",
        run.output
    );
    assert_eq!(sb.shadow_hash(), before);
    assert!(sb.history().is_none());
}

/// Several `passwd` runs for the same user at once (pam_unix serialises
/// /etc/shadow by its lock; the history by SQLite's): every one that
/// succeeds is recorded, none is lost or half written, and the password
/// /etc/shadow ends with is in the history.
#[test]
fn concurrent_changes_of_one_user_are_all_recorded() {
    use pwsentry::crypt::CryptHash;
    use pwsentry::history::Argon2Hash;
    let mut sb = Sandbox::new();
    let svc = standard(&mut sb);
    let passwords: Vec<String> = (1..=4)
        .map(|i| format!("Conc#Orbit#Canyon{i}{i}"))
        .collect();
    let runs: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = passwords
            .iter()
            .map(|p| {
                let (sb, svc) = (&sb, &svc);
                s.spawn(move || sb.pamtester(svc, "chauthtok", &[p, p]))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for run in &runs {
        assert!(run.success, "{}", run.output);
    }
    let history = sb.history().unwrap();
    assert_eq!(
        history.entries().len(),
        passwords.len(),
        "one entry per change"
    );
    let recorded = |p: &str| {
        history.entries().iter().any(|e| {
            Argon2Hash::parse(e.hash())
                .unwrap()
                .verify(p.as_bytes(), None)
                .unwrap()
        })
    };
    for p in &passwords {
        assert!(recorded(p), "{p} not recorded");
    }
    let shadow = CryptHash::parse(&sb.shadow_hash()).unwrap();
    assert!(
        passwords
            .iter()
            .any(|p| shadow.verify(p.as_bytes()).unwrap()),
        "/etc/shadow holds none of them"
    );
}
