//! Breached-password filters end to end: synthetic corpora in both of the
//! official downloader's layouts, built with `breach build`, used through
//! `[breach] filter`, and damaged in every way a file can be.

use crate::util::{Output, pwsentry, rules_of, write};
use rand::{RngExt as _, SeedableRng as _};
use sha1::{Digest, Sha1};
use std::collections::BTreeMap;
use std::path::Path;

/// Passwords that pass every other rule of `POLICY`, so `breached` is the
/// only reason to reject them.
fn strong(i: usize) -> String {
    format!("Velvet#Orbit#Canyon{i}-Quartz")
}

const POLICY: &str = "[strength]\nmin_score = 0\n[breach]\nfilter = \"f.pwsf\"\n";

fn sha1_hex(s: &str) -> String {
    Sha1::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

/// A sorted HIBP corpus: `members` (password, count) plus `random` random
/// hashes, as hash → count.
fn corpus(members: &[(String, u64)], random: usize, seed: u64) -> BTreeMap<String, u64> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut map = BTreeMap::new();
    for (pw, count) in members {
        map.insert(sha1_hex(pw), *count);
    }
    for _ in 0..random {
        let bytes: [u8; 20] = rng.random();
        let hex: String = bytes.iter().map(|b| format!("{b:02X}")).collect();
        map.insert(hex, rng.random_range(1..1000));
    }
    map
}

/// Writes the single-file layout (`HASH:COUNT`, CRLF as the downloader).
fn write_single(dir: &Path, map: &BTreeMap<String, u64>) -> std::path::PathBuf {
    let text: String = map.iter().map(|(h, c)| format!("{h}:{c}\r\n")).collect();
    write(dir, "pwnedpasswords.txt", text)
}

/// Writes the per-prefix layout: `XXXXX.txt` files of `SUFFIX:COUNT` lines.
fn write_prefix_dir(dir: &Path, map: &BTreeMap<String, u64>) -> std::path::PathBuf {
    let root = dir.join("hibp");
    std::fs::create_dir(&root).unwrap();
    let mut files: BTreeMap<&str, String> = BTreeMap::new();
    for (h, c) in map {
        files
            .entry(&h[..5])
            .or_default()
            .push_str(&format!("{}:{c}\r\n", &h[5..]));
    }
    for (prefix, text) in files {
        write(&root, &format!("{prefix}.txt"), text);
    }
    root
}

fn build(dir: &Path, args: &[&str]) -> Output {
    let mut all = vec!["breach", "build"];
    all.extend_from_slice(args);
    pwsentry(all).cwd(dir).run()
}

fn check_batch(dir: &Path, policy: &str, passwords: &[String]) -> Vec<serde_json::Value> {
    let input: String = passwords.iter().map(|p| format!("{p}\n")).collect();
    let out = pwsentry(["--policy", policy, "--json", "check", "--batch"])
        .cwd(dir)
        .stdin(input)
        .run();
    assert!(out.code == 0 || out.code == 1, "{out:?}");
    out.json_lines()
}

#[test]
fn members_are_breached_others_accepted_and_both_layouts_give_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let members: Vec<(String, u64)> = (0..40).map(|i| (strong(i), 1 + i as u64)).collect();
    let map = corpus(&members, 4000, 1);
    let single = write_single(d, &map);
    let prefixes = write_prefix_dir(d, &map);
    let a = build(
        d,
        &[
            single.to_str().unwrap(),
            "-o",
            "f.pwsf",
            "--description",
            "x",
        ],
    );
    assert_eq!(a.code, 0, "{a:?}");
    assert!(
        a.stderr.is_empty(),
        "no progress bar off a terminal: {}",
        a.stderr
    );
    let b = build(
        d,
        &[
            prefixes.to_str().unwrap(),
            "-o",
            "g.pwsf",
            "--description",
            "x",
        ],
    );
    assert_eq!(b.code, 0, "{b:?}");
    let fa = std::fs::read(d.join("f.pwsf")).unwrap();
    let fb = std::fs::read(d.join("g.pwsf")).unwrap();
    assert!(fa == fb, "the two layouts must give byte-identical filters");

    write(d, "p.toml", POLICY);
    let passwords: Vec<String> = members.iter().map(|(p, _)| p.clone()).collect();
    for v in check_batch(d, "p.toml", &passwords) {
        assert_eq!(rules_of(&v), ["breached"], "{v}");
        let msg = v["violations"][0]["message"].as_str().unwrap();
        assert!(msg.contains("has appeared in a data breach"), "{msg}");
    }
    // 2,000 non-members: at 2^-16 the expected false positives are 0.03;
    // the build is deterministic, so this does not flake.
    let others: Vec<String> = (1000..3000).map(strong).collect();
    let rejected = check_batch(d, "p.toml", &others)
        .iter()
        .filter(|v| !rules_of(v).is_empty())
        .count();
    assert!(rejected <= 1, "{rejected} of 2000 non-members rejected");
    // Typed in fullwidth characters, a member is still found (NFKC).
    let fullwidth: String = strong(3)
        .chars()
        .map(|c| match c {
            '0'..='9' | 'A'..='Z' | 'a'..='z' => char::from_u32(c as u32 + 0xFEE0).unwrap(),
            c => c,
        })
        .collect();
    let v = &check_batch(d, "p.toml", &[fullwidth])[0];
    assert!(rules_of(v).contains(&"breached".to_owned()), "{v}");
    // Case matters, as in the corpus.
    let v = &check_batch(d, "p.toml", &[strong(3).to_uppercase()])[0];
    assert!(!rules_of(v).contains(&"breached".to_owned()), "{v}");
}

#[test]
fn min_count_is_honoured_and_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let members: Vec<(String, u64)> = (0..20)
        .map(|i| (strong(i), if i % 2 == 0 { 1 } else { 10 }))
        .collect();
    let single = write_single(d, &corpus(&members, 500, 2));
    let out = build(
        d,
        &[single.to_str().unwrap(), "-o", "f.pwsf", "--min-count", "5"],
    );
    assert_eq!(out.code, 0, "{out:?}");
    write(d, "p.toml", POLICY);
    let passwords: Vec<String> = members.iter().map(|(p, _)| p.clone()).collect();
    let verdicts = check_batch(d, "p.toml", &passwords);
    for ((pw, count), v) in members.iter().zip(&verdicts) {
        let breached = rules_of(v).contains(&"breached".to_owned());
        assert_eq!(breached, *count >= 5, "{pw} seen {count} times: {v}");
    }
    let info = pwsentry(["--json", "breach", "info", "f.pwsf"])
        .cwd(d)
        .run();
    assert_eq!(info.code, 0, "{info:?}");
    assert_eq!(info.json()["min_count"], 5);
    assert_eq!(info.json()["kind"], "breach");
    let bad = build(
        d,
        &[single.to_str().unwrap(), "-o", "h.pwsf", "--min-count", "0"],
    );
    assert_eq!(bad.code, 2, "{bad:?}");
}

#[test]
fn plain_lists_on_stdin_are_hashed_as_typed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let list: String = (0..300).map(|i| format!("{}\n", strong(i))).collect();
    let out = pwsentry(["breach", "build", "-", "-o", "f.pwsf"])
        .cwd(d)
        .stdin(list)
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    write(d, "p.toml", POLICY);
    let v = check_batch(d, "p.toml", &[strong(299), strong(300)]);
    assert_eq!(rules_of(&v[0]), ["breached"]);
    assert!(rules_of(&v[1]).is_empty(), "{}", v[1]);
}

#[test]
fn malformed_lines_name_file_and_line_and_leave_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let map = corpus(&[], 10, 3);
    let mut lines: Vec<String> = map.iter().map(|(h, c)| format!("{h}:{c}")).collect();
    let cases = [
        (format!("{}:12", &lines[2][..39]), "40 hex digits"),
        (format!("{}G:1", &lines[2][..39]), "not hexadecimal"),
        (format!("{}:", &lines[2][..40]), "count"),
        ("0123456789ABCDEF0123456789ABCDEF:5".to_owned(), "NTLM"),
    ];
    let original = lines[2].clone();
    for (bad, expected) in cases {
        lines[2] = bad;
        write(d, "corpus.txt", lines.join("\n"));
        let out = build(d, &["corpus.txt", "-o", "f.pwsf"]);
        assert_eq!(out.code, 2, "{out:?}");
        assert!(out.stderr.contains("corpus.txt, line 3"), "{}", out.stderr);
        assert!(out.stderr.contains(expected), "{}", out.stderr);
        let names: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["corpus.txt"], "nothing else is left behind");
    }
    lines[2] = original;
    // An existing filter is not touched by a failed rebuild.
    write(d, "corpus.txt", lines.join("\n"));
    assert_eq!(build(d, &["corpus.txt", "-o", "f.pwsf"]).code, 0);
    let before = std::fs::read(d.join("f.pwsf")).unwrap();
    write(d, "bad.txt", format!("{}\nnot a hash line\n", lines[0]));
    let out = build(d, &["bad.txt", "-o", "f.pwsf"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("bad.txt, line 2"), "{}", out.stderr);
    assert_eq!(std::fs::read(d.join("f.pwsf")).unwrap(), before);
    // A stray file in a per-prefix folder is named.
    let root = write_prefix_dir(d, &map);
    write(&root, "notes.md", "hello");
    let out = build(d, &[root.to_str().unwrap(), "-o", "g.pwsf"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("notes.md"), "{}", out.stderr);
}

#[test]
fn damaged_filters_stop_policy_loading_with_78_never_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let single = write_single(d, &corpus(&[], 3000, 4));
    assert_eq!(
        build(d, &[single.to_str().unwrap(), "-o", "good.pwsf"]).code,
        0
    );
    let good = std::fs::read(d.join("good.pwsf")).unwrap();
    let mut newer = good.clone();
    newer[8] = 9;
    let mut flipped = good.clone();
    flipped[33] ^= 0x40;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("truncated", good[..good.len() / 2].to_vec(), "truncated"),
        ("tiny", good[..10].to_vec(), "truncated"),
        (
            "foreign",
            b"password\n123456\n".repeat(400),
            "not a pwsentry filter",
        ),
        ("newer", newer, "newer than this pwsentry"),
        ("flipped", flipped, "checksum"),
    ];
    for (name, bytes, expected) in cases {
        write(d, name, bytes);
        let policy = format!("[breach]\nfilter = \"{name}\"\n");
        write(d, "p.toml", policy);
        let out = pwsentry(["--policy", "p.toml", "check"])
            .cwd(d)
            .stdin("Velvet#Orbit#Canyon42\n")
            .run();
        assert_eq!(out.code, 78, "{name}: {out:?}");
        assert!(out.stderr.contains(expected), "{name}: {}", out.stderr);
        assert!(!out.stderr.contains("panicked"), "{name}: {}", out.stderr);
        let pc = pwsentry(["--policy", "p.toml", "policy", "check"])
            .cwd(d)
            .run();
        assert_eq!(pc.code, 78, "{name}: {pc:?}");
        let info = pwsentry(["breach", "info", name]).cwd(d).run();
        assert_eq!(info.code, 2, "{name}: {info:?}");
        assert!(info.stderr.contains(expected), "{name}: {}", info.stderr);
    }
    // A FIFO is refused at once instead of hanging the check.
    assert!(
        std::process::Command::new("mkfifo")
            .arg(d.join("fifo"))
            .status()
            .unwrap()
            .success()
    );
    write(d, "p.toml", "[breach]\nfilter = \"fifo\"\n");
    let out = pwsentry(["--policy", "p.toml", "check"])
        .cwd(d)
        .stdin("x\n")
        .run();
    assert_eq!(out.code, 78, "{out:?}");
    assert!(out.stderr.contains("not a regular file"), "{}", out.stderr);
    // A damaged body passes the header check but not --verify.
    let mut body = good.clone();
    let at = body.len() - 100;
    body[at] ^= 1;
    write(d, "body.pwsf", body);
    assert_eq!(
        pwsentry(["breach", "info", "body.pwsf"]).cwd(d).run().code,
        0
    );
    let out = pwsentry(["breach", "info", "--verify", "body.pwsf"])
        .cwd(d)
        .run();
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("body checksum"), "{}", out.stderr);
    // A missing filter names the key and the file.
    write(d, "p.toml", "[breach]\nfilter = \"nope.pwsf\"\n");
    let out = pwsentry(["--policy", "p.toml", "policy", "check"])
        .cwd(d)
        .run();
    assert_eq!(out.code, 78, "{out:?}");
    assert!(
        out.stderr.contains("breach.filter") && out.stderr.contains("nope.pwsf"),
        "{}",
        out.stderr
    );
}

#[test]
fn big_blocklists_become_filters_and_plain_ones_have_a_limit() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let list: String = (0..5000).map(|i| format!("Banned-Word-{i}!\n")).collect();
    write(d, "list.txt", &list);
    let out = pwsentry(["blocklist", "build", "list.txt", "-o", "list.pwsf"])
        .cwd(d)
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    write(
        d,
        "p.toml",
        "[strength]\nmin_score = 0\nblocklists = [\"list.pwsf\"]\n",
    );
    let v = check_batch(
        d,
        "p.toml",
        &[
            "BANNED-WORD-4999!".to_owned(),
            "Banned-Word-5000!".to_owned(),
        ],
    );
    assert_eq!(rules_of(&v[0]), ["blocklist"], "matched ignoring case");
    assert!(rules_of(&v[1]).is_empty(), "{}", v[1]);
    // A breach filter is not a blocklist, and the reverse.
    write(d, "p.toml", "[breach]\nfilter = \"list.pwsf\"\n");
    let out = pwsentry(["--policy", "p.toml", "policy", "check"])
        .cwd(d)
        .run();
    assert_eq!(out.code, 78, "{out:?}");
    assert!(
        out.stderr.contains("is a blocklist filter"),
        "{}",
        out.stderr
    );
    // Over the plain-text limit: refused with the way out.
    let big: String = (0..400_000).map(|i| format!("banned-{i:08}\n")).collect();
    assert!(big.len() > 4 << 20);
    write(d, "big.txt", big);
    write(d, "p.toml", "[strength]\nblocklists = [\"big.txt\"]\n");
    let out = pwsentry(["--policy", "p.toml", "policy", "check"])
        .cwd(d)
        .run();
    assert_eq!(out.code, 78, "{out:?}");
    assert!(
        out.stderr.contains("pwsentry blocklist build"),
        "{}",
        out.stderr
    );
}

#[test]
fn policy_check_reports_the_filter_and_nist_without_one_is_warned() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let single = write_single(d, &corpus(&[], 100, 5));
    assert_eq!(
        build(d, &[single.to_str().unwrap(), "-o", "f.pwsf"]).code,
        0
    );
    write(d, "n.toml", "preset = \"nist-800-63b\"\n");
    let out = pwsentry(["--policy", "n.toml", "policy", "check"])
        .cwd(d)
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stderr.contains("without a [breach] filter"),
        "{}",
        out.stderr
    );
    write(
        d,
        "n.toml",
        "preset = \"nist-800-63b\"\n[breach]\nfilter = \"f.pwsf\"\n",
    );
    let out = pwsentry(["--policy", "n.toml", "policy", "check"])
        .cwd(d)
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("valid (100 entries)"), "{}", out.stderr);
    // `policy show` prints the resolved path, and reads back.
    let show = pwsentry(["--policy", "n.toml", "policy", "show"])
        .cwd(d)
        .run();
    assert!(
        show.stdout.contains("[breach]") && show.stdout.contains("f.pwsf"),
        "{}",
        show.stdout
    );
}
