//! Unicode through the public API: hidden characters are never accepted,
//! odd code points are handled, huge combining sequences are bounded, and
//! `[length] count` is a policy key like any other.

use icu_properties::CodePointSetData;
use icu_properties::props::{
    BinaryProperty, DefaultIgnorableCodePoint, Emoji, ExtendedPictographic, RegionalIndicator,
};
use proptest::prelude::*;
use pwsentry::policy::{HARD_MAX_LENGTH, LengthUnit};
use pwsentry::{Checker, Context, Policy, Preset, Rule};

/// Only the hidden-character rule can reject under this policy.
const PERMISSIVE: &str = "
[length]
min = 1
max = 1024
[composition]
min_letters = 0
min_digits = 0
min_symbols = 0
[strength]
min_score = 0
reject_context_words = false
";

fn permissive() -> Checker {
    Checker::new(Policy::from_toml_str(PERMISSIVE).unwrap())
}

/// Every Default_Ignorable_Code_Point (about 4,170, most of them reserved).
fn default_ignorables() -> Vec<char> {
    CodePointSetData::new::<DefaultIgnorableCodePoint>()
        .iter_ranges()
        .flatten()
        .filter_map(char::from_u32)
        .collect()
}

/// A character that cannot start an emoji sequence, so that no hidden
/// character next to it can be part of one.
fn non_emoji_char() -> impl Strategy<Value = char> {
    any::<char>().prop_filter("no emoji", |c| {
        !Emoji::for_char(*c)
            && !ExtendedPictographic::for_char(*c)
            && !RegionalIndicator::for_char(*c)
            && !DefaultIgnorableCodePoint::for_char(*c)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// No default-ignorable code point is ever accepted outside an emoji
    /// sequence, wherever it is put.
    #[test]
    fn no_default_ignorable_is_ever_accepted(
        text in prop::collection::vec(non_emoji_char(), 0..20),
        hidden in prop::sample::select(default_ignorables()),
        at in any::<prop::sample::Index>(),
    ) {
        let mut chars = text;
        let at = at.index(chars.len() + 1);
        chars.insert(at, hidden);
        let password: String = chars.into_iter().collect();
        let verdict = permissive().evaluate(&password, &Context::new());
        prop_assert!(!verdict.accepted(), "U+{:04X} accepted", hidden as u32);
        prop_assert!(verdict.violates(Rule::ControlCharacters) || verdict.violates(Rule::MaxLength));
    }

    /// Any text at all: no panic, and the verdict does not depend on the
    /// normalisation form the text came in.
    #[test]
    fn any_text_any_form(s in any::<String>()) {
        use unicode_normalization::UnicodeNormalization;
        let checker = Checker::new(Policy::from_preset(Preset::Nist80063b));
        let nfd: String = s.nfd().collect();
        prop_assert_eq!(
            checker.evaluate(&s, &Context::new()),
            checker.evaluate(&nfd, &Context::new())
        );
    }
}

#[test]
fn every_default_ignorable_alone_and_between_letters_is_rejected() {
    let checker = permissive();
    let hidden = default_ignorables();
    assert!(hidden.len() > 4000, "{}", hidden.len());
    for c in hidden {
        for password in [
            format!("{c}"),
            format!("velvet{c}orbit"),
            format!("velvet7{c}"),
        ] {
            let v = checker.evaluate(&password, &Context::new());
            assert!(
                v.violates(Rule::ControlCharacters),
                "U+{:04X} in {password:?}",
                c as u32
            );
        }
    }
}

#[test]
fn a_grapheme_of_ten_thousand_marks_is_rejected_before_any_work() {
    let checker = Checker::new(Policy::default());
    let marks: String = std::iter::once('a')
        .chain(std::iter::repeat_n('\u{301}', 10_000))
        .chain("#1x".chars())
        .collect();
    let v = checker.evaluate(&marks, &Context::new());
    assert_eq!(v.violations().len(), 1);
    assert!(v.violates(Rule::MaxLength));
    assert!(v.strength().is_none(), "not scored");
    assert!(v.violations()[0].message.contains("code points"), "{v:?}");

    // Just under the code-point cap: evaluated, and one character long.
    let policy = Policy::from_toml_str("[length]\nmin = 2\nmax = 1024\n").unwrap();
    let under: String = std::iter::once('a')
        .chain(std::iter::repeat_n('\u{301}', HARD_MAX_LENGTH as usize - 1))
        .collect();
    let v = Checker::new(policy).evaluate(&under, &Context::new());
    assert!(v.violates(Rule::MinLength), "{v:?}");
    assert!(!v.violates(Rule::MaxLength), "{v:?}");
    assert!(v.strength().is_some());
}

#[test]
fn odd_code_points() {
    let checker = permissive();
    let ctx = Context::new();
    // Unassigned: allowed (a newer keyboard may know it), but no class.
    let seed = Checker::new(Policy::from_toml_str("[strength]\nmin_score = 0\n").unwrap());
    let v = seed.evaluate("bluehorse7\u{50000}", &ctx);
    assert_eq!(
        v.violations().iter().map(|v| v.rule).collect::<Vec<_>>(),
        [Rule::Symbols]
    );
    // Noncharacters, the last code point, reserved default-ignorables.
    for bad in [
        "x\u{FFFE}",
        "x\u{10FFFF}",
        "x\u{E0080}",
        "x\u{2065}",
        "x\u{FFF0}",
    ] {
        assert!(
            checker
                .evaluate(bad, &ctx)
                .violates(Rule::ControlCharacters),
            "{bad:?}"
        );
    }
    // Private use, astral letters, a lone regional indicator: allowed.
    for ok in [
        "x\u{F0000}",
        "\u{10400}\u{10428}",
        "\u{1F1EB}x",
        "\u{1D400}",
    ] {
        assert!(checker.evaluate(ok, &ctx).accepted(), "{ok:?}");
    }
    // The NFKC expansion of U+FDFA is 18 characters: 1024 of them stay
    // bounded and are scored on at most zxcvbn's first 100 characters.
    let wide = "\u{FDFA}".repeat(1024);
    assert!(checker.evaluate(&wide, &ctx).strength().is_some());
}

#[test]
fn length_count_is_a_policy_key() {
    let family = "a1\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}\u{200D}\u{1F466}";
    let graphemes = Policy::from_toml_str("[length]\ncount = \"graphemes\"\n").unwrap();
    let points = Policy::from_toml_str("[length]\ncount = \"code_points\"\n").unwrap();
    assert_eq!(Policy::default().length().count, LengthUnit::Graphemes);
    assert_eq!(graphemes.length().count, LengthUnit::Graphemes);
    assert_eq!(points.length().count, LengthUnit::CodePoints);
    assert_eq!(graphemes.length().measure(family), 3);
    assert_eq!(points.length().measure(family), 9);
    // Decomposed input is measured after NFC.
    assert_eq!(points.length().measure("e\u{301}"), 1);

    let nist = Policy::from_preset(Preset::Nist80063b);
    assert_eq!(nist.length().count, LengthUnit::CodePoints);
    assert_eq!(
        Policy::from_preset(Preset::PciDss4).length().count,
        LengthUnit::Graphemes
    );
    // A preset's unit can be overridden, and `policy show` output reads back.
    let custom =
        Policy::from_toml_str("preset = \"nist-800-63b\"\n[length]\ncount = \"graphemes\"\n")
            .unwrap();
    assert_eq!(custom.length().count, LengthUnit::Graphemes);
    for p in [&nist, &custom, &points] {
        assert!(p.to_toml().contains("count = \""), "{}", p.to_toml());
        assert_eq!(&Policy::from_toml_str(&p.to_toml()).unwrap(), p);
    }

    let err = Policy::from_toml_str("[length]\ncount = \"bytes\"\n").unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("graphemes") && msg.contains("code_points") && msg.contains("line 2"),
        "{msg}"
    );
}

#[test]
fn blocklists_match_every_way_of_writing_an_entry() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("banned.txt"),
        "Stra\u{DF}e#2024\n\u{FF21}cme#Rocks7\nsummer#2024\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("policy.toml"),
        "[strength]\nmin_score = 0\nblocklists = [\"banned.txt\"]\n",
    )
    .unwrap();
    let checker = Checker::new(Policy::from_file(dir.path().join("policy.toml")).unwrap());
    let ctx = Context::new();
    for banned in [
        "STRASSE#2024",
        "stra\u{1E9E}e#2024",
        "acme#rocks7",
        "ACME#ROCKS7",
        "\u{FF33}\u{FF35}\u{FF2D}\u{FF2D}\u{FF25}\u{FF32}#2024",
        "sum\u{200B}mer#2024",
        "summer#\u{2082}\u{2080}\u{2082}\u{2084}",
    ] {
        assert!(
            checker.evaluate(banned, &ctx).violates(Rule::Blocklist),
            "{banned:?}"
        );
    }
    assert!(
        !checker
            .evaluate("summer#2025", &ctx)
            .violates(Rule::Blocklist)
    );
}

#[test]
fn ordinary_mixed_case_passwords_keep_their_score() {
    // zxcvbn sees NFKC, not the case-folded form: capitals keep their credit.
    let checker = Checker::new(Policy::from_toml_str("[strength]\nmin_score = 0\n").unwrap());
    for p in [
        "Tr0ub4dor&3",
        "Velvet#Orbit#Canyon42",
        "\u{C5}ngstr\u{F6}m1988&",
    ] {
        let v = checker.evaluate(p, &Context::new());
        let plain = zxcvbn::zxcvbn(p, &[]);
        assert_eq!(v.score(), Some(plain.score() as u8), "{p}");
    }
}
