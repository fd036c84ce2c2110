use super::build::{BuildOptions, Input, NoProgress, build};
use super::*;
use std::io::Write as _;

/// Uppercase hex SHA-1, as Have I Been Pwned writes it.
pub(super) fn sha1_hex(text: &str) -> String {
    Sha1::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

fn build_from(text: &str, options: &BuildOptions) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.txt");
    std::fs::write(&input, text).unwrap();
    let out = dir.path().join("f.pwsf");
    build(vec![Input::Path(input)], &out, options, &mut NoProgress).unwrap();
    (dir, out)
}

/// `n` random uppercase SHA-1 lines, sorted, with counts 1..=5.
fn random_corpus(n: usize, seed: u64) -> Vec<String> {
    let mut state = seed;
    let mut lines: Vec<String> = (0..n)
        .map(|i| {
            let a = xorf::splitmix64(&mut state);
            let b = xorf::splitmix64(&mut state);
            let c = xorf::splitmix64(&mut state) as u32;
            format!("{a:016X}{b:016X}{c:08X}:{}", 1 + i % 5)
        })
        .collect();
    lines.sort();
    lines
}

#[test]
fn lookup_matches_xorf_for_members_and_strangers() {
    // Our positioned-read lookup reimplements xorf's hashing; pin it.
    for n in [1usize, 2, 3, 10, 1000, 50_000] {
        let mut state = n as u64;
        let mut keys: Vec<u64> = (0..n).map(|_| xorf::splitmix64(&mut state)).collect();
        keys.sort_unstable();
        keys.dedup();
        let reference = xorf::BinaryFuse16::try_from(&keys).unwrap();
        let text: String = keys
            .iter()
            .map(|k| format!("{k:016X}{:024X}:1\n", 0))
            .collect();
        let (_d, out) = build_from(&text, &BuildOptions::new(FilterKind::Breach));
        let filter = Filter::open(&out).unwrap();
        assert_eq!(filter.header().entry_count, keys.len() as u64);
        for &k in &keys {
            assert!(
                filter.contains_key(k).unwrap(),
                "member {k:x} missing (n={n})"
            );
        }
        for _ in 0..20_000 {
            let k = xorf::splitmix64(&mut state);
            assert_eq!(
                filter.contains_key(k).unwrap(),
                xorf::Filter::contains(&reference, &k),
                "lookup differs from xorf for {k:x} (n={n})"
            );
        }
    }
}

#[test]
fn many_groups_find_every_member_and_few_strangers() {
    // Over GROUP_TARGET keys: several groups and a 16-bit directory.
    let lines = random_corpus(60_000, 7);
    let text = lines.join("\n");
    for bits in [FingerprintBits::Sixteen, FingerprintBits::ThirtyTwo] {
        let mut options = BuildOptions::new(FilterKind::Breach);
        options.fingerprint = bits;
        let (_d, out) = build_from(&text, &options);
        let filter = Filter::open(&out).unwrap();
        let h = filter.header();
        assert!(h.group_count >= 2, "{h:?}");
        assert_eq!(h.directory_bits, 16);
        assert_eq!(h.entry_count, lines.len() as u64);
        for line in lines.iter().step_by(97) {
            let key = u64::from_str_radix(&line[..16], 16).unwrap();
            assert!(filter.contains_key(key).unwrap());
        }
        let mut state = 99u64;
        let trials = 200_000;
        let hits = (0..trials)
            .filter(|_| filter.contains_key(xorf::splitmix64(&mut state)).unwrap())
            .count();
        let expected = trials as f64 * bits.design_rate();
        assert!(
            (hits as f64) <= 3.0 * expected + 3.0,
            "{hits} false positives in {trials}, design {expected}"
        );
        filter.verify_body().unwrap();
        // The fingerprint arrays alone, in groups of 2^14 keys in unit
        // tests (BENCHMARKS.md measures whole files of real-size groups).
        let arrays = h.directory_offset - 4096;
        let bytes_per_entry = arrays as f64 / h.entry_count as f64;
        let budget = if bits == FingerprintBits::Sixteen {
            2.6
        } else {
            5.2
        };
        assert!(
            bytes_per_entry <= budget,
            "{bytes_per_entry} bytes per entry"
        );
    }
}

#[test]
fn passwords_are_found_by_their_sha1() {
    let mut lines = random_corpus(500, 3);
    for pw in ["password", "Tr0ub4dor&3", "correct horse battery staple"] {
        lines.push(format!("{}:12", sha1_hex(pw)));
    }
    lines.sort();
    let (_d, out) = build_from(&lines.join("\r\n"), &BuildOptions::new(FilterKind::Breach));
    let filter = Filter::open(&out).unwrap();
    assert!(filter.contains("password").unwrap());
    assert!(filter.contains("Tr0ub4dor&3").unwrap());
    assert!(filter.contains("correct horse battery staple").unwrap());
    assert!(!filter.contains("Velvet#Orbit#Canyon42").unwrap());
}

#[test]
fn damaged_files_give_clear_errors() {
    let (dir, out) = build_from(
        &random_corpus(5000, 5).join("\n"),
        &BuildOptions::new(FilterKind::Breach),
    );
    let good = std::fs::read(&out).unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", Vec::new(), "truncated"),
        ("short", good[..100].to_vec(), "truncated"),
        ("headeronly", good[..4096].to_vec(), "truncated"),
        ("cut", good[..good.len() - 1].to_vec(), "truncated"),
        (
            "foreign",
            b"# a plain text list\npassword\n".repeat(300),
            "not a pwsentry filter",
        ),
        (
            "longer",
            [good.clone(), vec![0]].concat(),
            "longer than its header",
        ),
        (
            "newer",
            {
                let mut b = good.clone();
                b[8] = 2;
                b
            },
            "newer than this pwsentry",
        ),
        (
            "flipped",
            {
                let mut b = good.clone();
                b[40] ^= 1;
                b
            },
            "header checksum",
        ),
    ];
    for (name, bytes, expected) in cases {
        let p = write(name, &bytes);
        let err = Filter::open(&p).unwrap_err().to_string();
        assert!(err.contains(expected), "{name}: {err}");
    }
    // A damaged body passes the header checks but not --verify.
    let mut b = good.clone();
    let mid = 4096 + 10;
    b[mid] ^= 0xff;
    let p = write("body", &b);
    let f = Filter::open(&p).unwrap();
    let err = f.verify_body().unwrap_err().to_string();
    assert!(err.contains("body checksum"), "{err}");
    // Not a regular file.
    let err = Filter::open(dir.path()).unwrap_err().to_string();
    assert!(err.contains("not a regular file"), "{err}");
}

#[cfg(unix)]
#[test]
fn fifo_is_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    let err = Filter::open(&fifo).unwrap_err().to_string();
    assert!(err.contains("not a regular file"), "{err}");
}

#[test]
fn a_filter_replaced_by_a_rebuild_keeps_answering_from_the_file_it_opened() {
    // A rebuild renames a new file over the old one; a process that has the
    // old one mapped (a running server) keeps its answers, and the next
    // open sees the new filter.
    let old_corpus = random_corpus(3000, 11);
    let new_corpus = random_corpus(3000, 12);
    let (dir, out) = build_from(
        &old_corpus.join("\n"),
        &BuildOptions::new(FilterKind::Breach),
    );
    let filter = Filter::open(&out).unwrap();
    let input = dir.path().join("new.txt");
    std::fs::write(&input, new_corpus.join("\n")).unwrap();
    build(
        vec![Input::Path(input)],
        &out,
        &BuildOptions::new(FilterKind::Breach),
        &mut NoProgress,
    )
    .unwrap();
    let key = |line: &String| u64::from_str_radix(&line[..16], 16).unwrap();
    assert!(
        old_corpus
            .iter()
            .all(|l| filter.contains_key(key(l)).unwrap())
    );
    let reopened = Filter::open(&out).unwrap();
    assert!(
        new_corpus
            .iter()
            .all(|l| reopened.contains_key(key(l)).unwrap())
    );
    let old_still_in_new = old_corpus
        .iter()
        .filter(|l| reopened.contains_key(key(l)).unwrap())
        .count();
    assert!(old_still_in_new < 10, "{old_still_in_new} of 3000 old keys");
}

#[test]
fn bad_lines_are_reported_with_file_and_line_and_leave_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("f.pwsf");
    let mut lines = random_corpus(10, 1);
    lines[6] = format!("{}:x1", &lines[6][..40]);
    let input = dir.path().join("in.txt");
    std::fs::write(&input, lines.join("\n")).unwrap();
    let err = build(
        vec![Input::Path(input.clone())],
        &out,
        &BuildOptions::new(FilterKind::Breach),
        &mut NoProgress,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("in.txt, line 7"), "{err}");
    assert!(err.contains("count"), "{err}");
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(left.len(), 1, "only the input remains: {left:?}");
}

#[test]
fn unsorted_files_are_reread_through_shards_and_streams_are_refused() {
    let mut lines = random_corpus(3000, 2);
    lines.swap(10, 2000);
    let text = lines.join("\n");
    let (_d, out) = build_from(&text, &BuildOptions::new(FilterKind::Breach));
    let filter = Filter::open(&out).unwrap();
    assert_eq!(filter.header().entry_count, 3000);
    for line in &lines {
        let key = u64::from_str_radix(&line[..16], 16).unwrap();
        assert!(filter.contains_key(key).unwrap());
    }
    let dir = tempfile::tempdir().unwrap();
    let err = build(
        vec![Input::Stream {
            name: "<stdin>".into(),
            reader: Box::new(std::io::Cursor::new(text.into_bytes())),
        }],
        &dir.path().join("x"),
        &BuildOptions::new(FilterKind::Breach),
        &mut NoProgress,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("<stdin>, line 12") && err.contains("not sorted"),
        "{err}"
    );
}

#[test]
fn plain_lists_from_a_stream_are_hashed_as_typed() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("f.pwsf");
    let mut list = Vec::new();
    for i in 0..20_000 {
        writeln!(list, "pw{i}").unwrap();
    }
    list.extend_from_slice("Pässwörd\r\n\npw1\n".as_bytes());
    let summary = build(
        vec![Input::Stream {
            name: "<stdin>".into(),
            reader: Box::new(std::io::Cursor::new(list)),
        }],
        &out,
        &BuildOptions::new(FilterKind::Breach),
        &mut NoProgress,
    )
    .unwrap();
    assert!(summary.used_temporary_shards);
    assert_eq!(summary.entries, 20_001);
    assert_eq!(summary.duplicates, 1);
    let filter = Filter::open(&out).unwrap();
    assert!(filter.contains("pw19999").unwrap());
    assert!(filter.contains("Pässwörd").unwrap());
    assert!(
        !filter.contains("pässwörd").unwrap(),
        "a breach filter is case-sensitive"
    );
}

#[test]
fn blocklist_filters_hold_the_matching_form() {
    let mut options = BuildOptions::new(FilterKind::Blocklist);
    options.description = "test list".into();
    let (_d, out) = build_from("Hunter2\nCAFE\u{301}\n", &options);
    let filter = Filter::open_kind(&out, FilterKind::Blocklist).unwrap();
    assert_eq!(filter.header().description, "test list");
    assert!(filter.contains(&blocklist_form("HUNTER2")).unwrap());
    assert!(filter.contains(&blocklist_form("caf\u{e9}")).unwrap());
    let err = Filter::open_kind(&out, FilterKind::Breach)
        .unwrap_err()
        .to_string();
    assert!(err.contains("is a blocklist filter"), "{err}");
}

#[test]
fn breach_forms_cover_nfc_and_nfkc_once() {
    assert_eq!(breach_forms("password").len(), 1);
    let forms: Vec<String> = breach_forms("ｐａｓｓ１")
        .iter()
        .map(|f| f.to_string())
        .collect();
    assert_eq!(forms, ["ｐａｓｓ１", "pass1"]);
    let forms = breach_forms("cafe\u{301}");
    assert_eq!(forms.len(), 2);
    assert_eq!(forms[1].as_str(), "caf\u{e9}");
}

#[test]
fn crafted_input_cannot_buy_unbounded_memory() {
    // Thousands of "hashes" under one 16-bit prefix are no SHA-1 corpus.
    let text: String = (0..5000u64)
        .map(|i| format!("ABCD{i:012X}{:024X}:1\n", 0))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.txt"), text).unwrap();
    let err = build(
        vec![Input::Path(dir.path().join("in.txt"))],
        &dir.path().join("f"),
        &BuildOptions::new(FilterKind::Breach),
        &mut NoProgress,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("share the hash prefix ABCD"), "{err}");
    // A line longer than the limit is refused, not buffered.
    let mut long = b"x".repeat(super::build::MAX_LINE_BYTES + 10);
    long.extend_from_slice(b"\nok\n");
    let err = build(
        vec![Input::Stream {
            name: "<stdin>".into(),
            reader: Box::new(std::io::Cursor::new(long)),
        }],
        &dir.path().join("f"),
        &BuildOptions::new(FilterKind::Breach),
        &mut NoProgress,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("line 1") && err.contains("longer than"),
        "{err}"
    );
    assert!(!dir.path().join("f").exists());
}

#[test]
fn damaged_bodies_never_panic() {
    // Multi-group filter, so the directory and descriptors are exercised.
    let lines = random_corpus(50_000, 21);
    let (dir, out) = build_from(&lines.join("\n"), &BuildOptions::new(FilterKind::Breach));
    let good = std::fs::read(&out).unwrap();
    let h = Filter::open(&out).unwrap().header().clone();
    assert!(h.group_count > 1);
    let mut state = 5u64;
    let damaged = dir.path().join("damaged");
    for round in 0..40 {
        let mut b = good.clone();
        // Aim at the directory and the group table half the time.
        for _ in 0..8 {
            let r = xorf::splitmix64(&mut state);
            let at = if round % 2 == 0 {
                h.directory_offset + r % (h.file_len - h.directory_offset)
            } else {
                4096 + r % (h.file_len - 4096)
            };
            b[at as usize] = (r >> 56) as u8;
        }
        std::fs::write(&damaged, &b).unwrap();
        let f = Filter::open(&damaged).unwrap();
        for _ in 0..2000 {
            let _ = f.contains_key(xorf::splitmix64(&mut state));
        }
    }
}
