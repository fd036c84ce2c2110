//! Policy files: error messages, `policy show` and `policy check`.

use crate::util::{pwsentry, root, write};
use pwsentry::{Error, Policy, Preset};

fn policy_error(text: &str) -> pwsentry::PolicyError {
    match Policy::from_toml_str(text) {
        Err(Error::Policy(e)) => e,
        other => panic!("expected a policy error for {text:?}, got {other:?}"),
    }
}

#[test]
fn shipped_policy_file_equals_builtin_default() {
    let file = Policy::from_file(root().join("policy.toml")).unwrap();
    assert_eq!(file, Policy::default());
    assert_eq!(file, Policy::from_preset(Preset::Seed));
}

#[test]
fn errors_name_line_column_and_allowed_keys() {
    let e = policy_error("preset = \"seed\"\n[length]\nmin = 8\nminimum = 3\n");
    assert_eq!((e.line, e.column), (Some(4), Some(1)));
    assert!(
        e.message.contains("unknown field `minimum`"),
        "{}",
        e.message
    );
    assert!(
        e.message.contains("`min`") && e.message.contains("`max`"),
        "{}",
        e.message
    );

    let e = policy_error("[lenght]\nmin = 8\n");
    assert_eq!(e.line, Some(1));
    assert!(
        e.message.contains("unknown field `lenght`") && e.message.contains("`length`"),
        "{}",
        e.message
    );

    let e = policy_error("[length]\nmin = \"eight\"\n");
    assert_eq!((e.line, e.column), (Some(2), Some(7)));
    assert!(e.message.contains("invalid type"), "{}", e.message);

    let e = policy_error("[length]\nmin = -1\n");
    assert_eq!(e.line, Some(2));

    let e = policy_error("[length]\nmin = 20\nmax = 10\n");
    assert_eq!((e.line, e.column), (Some(2), Some(7)));
    assert!(
        e.message.contains("greater than length.max"),
        "{}",
        e.message
    );

    let e = policy_error("[composition]\npatterns = [\"ok\", \"(unclosed\"]\n");
    assert_eq!((e.line, e.column), (Some(2), Some(19)));
    assert!(
        e.message.contains("invalid regular expression"),
        "{}",
        e.message
    );

    let e = policy_error("preset = \"nist\"\n");
    assert_eq!(e.line, Some(1));
    assert!(e.message.contains("nist-800-63b"), "{}", e.message);

    let e = policy_error("[rotation]\nmax_age_days = 10\nwarn_days = 10\n");
    assert_eq!(e.line, Some(3));

    let e = policy_error("[hashing]\nmemory_kib = 1024\niterations = 1\n");
    assert!(e.message.contains("OWASP"), "{}", e.message);

    let e = policy_error("[length\nmin = 3\n");
    assert_eq!(e.line, Some(1));

    let e =
        policy_error("[composition]\nmin_digits = 100\nmin_symbols = 100\n[length]\nmax = 150\n");
    assert!(
        e.message.contains("need at least 201 characters"),
        "{}",
        e.message
    );
}

#[test]
fn missing_blocklist_is_a_policy_error_with_location() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "p.toml",
        "[strength]\nblocklists = [\"nope.txt\"]\n",
    );
    let out = pwsentry(["--policy", path.to_str().unwrap(), "check"])
        .stdin("x\n")
        .run();
    assert_eq!(out.code, 78, "{out:?}");
    assert!(
        out.stderr.contains("p.toml, line 2, column 15"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("nope.txt"), "{}", out.stderr);
}

#[test]
fn policy_check_and_show() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(dir.path(), "bad.toml", "[length]\nmni = 3\n");
    let out = pwsentry(["policy", "check", bad.to_str().unwrap()]).run();
    assert_eq!(out.code, 78);
    assert!(
        out.stderr.contains(
            "bad.toml, line 2, column 1: unknown field `mni`, expected one of `min`, `max`, `count`"
        ),
        "{}",
        out.stderr
    );

    let good = write(
        dir.path(),
        "good.toml",
        "preset = \"pci-dss-4\"\n[history]\nremember = 6\n",
    );
    let out = pwsentry(["policy", "check", good.to_str().unwrap()]).run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("valid (preset pci-dss-4)"));

    let out = pwsentry(["--policy", good.to_str().unwrap(), "policy", "show"]).run();
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains("preset = \"pci-dss-4\""));
    assert!(out.stdout.contains("remember = 6"));
    assert!(
        out.stdout.contains("min = 12"),
        "preset values merged:\n{}",
        out.stdout
    );
    let shown = write(dir.path(), "shown.toml", &out.stdout);
    assert_eq!(
        Policy::from_file(&shown).unwrap(),
        Policy::from_file(&good).unwrap()
    );
}

#[test]
fn show_round_trips_for_every_preset() {
    for preset in Preset::ALL {
        let p = Policy::from_preset(preset);
        let again = Policy::from_toml_str(&p.to_toml()).unwrap_or_else(|e| panic!("{preset}: {e}"));
        assert_eq!(p, again, "{preset}");
    }
}

#[test]
fn invalid_policy_exit_code_is_78_for_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(dir.path(), "bad.toml", "[strength]\nmin_score = 9\n");
    let out = pwsentry(["--policy", bad.to_str().unwrap(), "check"])
        .stdin("x\n")
        .run();
    assert_eq!(out.code, 78);
    assert!(
        out.stderr.contains("min_score must be 0..=4"),
        "{}",
        out.stderr
    );
    let out = pwsentry(["--policy", dir.path().to_str().unwrap(), "policy", "show"]).run();
    assert_eq!(out.code, 78, "a directory: {}", out.stderr);
    assert!(out.stderr.contains("is a directory"));
}
