//! The Unicode views of a candidate password, and the facts about its
//! characters that the rules need.
//!
//! A password is kept in three forms:
//!
//! * the **typed form**, NFC: what the length and character-class rules
//!   look at and what the history hashes (the history module makes it; this
//!   module does not);
//! * the **scoring form** ([`scoring_form`]), NFKC with the default-ignorable
//!   code points removed, case kept: what zxcvbn scores, so that `Ｐａｓｓ１`
//!   (fullwidth) scores as `Pass1` while `Password` keeps zxcvbn's credit for
//!   its capital letter;
//! * the **matching form** ([`matching_form`]), the scoring form with full
//!   Unicode case folding, repeated until it no longer changes: what
//!   blocklists, the built-in common-password list and context words are
//!   compared in, so `ＰＡＳＳＷＯＲＤ`, `password` and `pass\u{200B}word`
//!   are one entry.
//!
//! It also tells which code points are hidden or control characters (never
//! allowed in a password, except inside an emoji sequence) and counts
//! grapheme clusters, the characters a person types.
//!
//! Unicode data comes from maintained crates: ICU4X's `icu_properties`
//! (General_Category, Default_Ignorable_Code_Point, the emoji properties)
//! and `icu_casemap` (full case folding), `unicode-normalization` (NFKC)
//! and `unicode-segmentation` (UAX #29 grapheme clusters).
//!
//! Every function here is linear in its input and allocates buffers of a
//! size known before writing, so that no copy of a password is left behind
//! in a reallocated buffer. It applies no policy and never fails.

use icu_casemap::CaseMapper;
use icu_properties::props::{
    BasicEmoji, BinaryProperty, DefaultIgnorableCodePoint, Emoji, EmojiModifier, EmojiModifierBase,
    ExtendedPictographic, GeneralCategory, NoncharacterCodePoint, RegionalIndicator,
};
use icu_properties::{CodePointMapData, EmojiSetData};
use unicode_normalization::UnicodeNormalization;
use unicode_segmentation::UnicodeSegmentation;
use zeroize::Zeroizing;

/// Passes of [`matching_form`] at most. NFKC and case folding are each
/// idempotent, but one can undo the other's work (removing a hidden
/// character can let two neighbours compose; Unicode's own NFKC_Casefold
/// is defined by closure for this reason). One pass (NFKC, fold, NFKC)
/// reached the fixed point on every input the property tests generate and
/// the second only confirms it; the bound keeps the cost linear whatever
/// the input.
const MAX_PASSES: usize = 4;

const ZERO_WIDTH_JOINER: char = '\u{200D}';
const TEXT_PRESENTATION: char = '\u{FE0E}';
const EMOJI_PRESENTATION: char = '\u{FE0F}';
const COMBINING_KEYCAP: char = '\u{20E3}';
const CANCEL_TAG: char = '\u{E007F}';
const BLACK_FLAG: char = '\u{1F3F4}';

/// The matching form of `s`: NFKC, full case folding, default-ignorable
/// code points removed, to a fixed point (`matching_form(matching_form(s))
/// == matching_form(s)`).
///
/// Blocklists, the built-in common-password list and context words compare
/// in this form; history hashes never see it.
pub(crate) fn matching_form(s: &str) -> Zeroizing<String> {
    if s.is_ascii() {
        // NFKC and folding of ASCII are ASCII lowercasing, and no ASCII
        // character is default-ignorable: the common case costs one copy.
        let mut out = Zeroizing::new(s.to_owned());
        out.make_ascii_lowercase();
        return out;
    }
    to_fixed_point(s, true)
}

/// Code points of the input that [`scoring_form`] reads. zxcvbn scores only
/// its first 100 characters, and NFKC shrinks text by at most 3 to 1
/// (Hangul jamo), so 400 code points give it all it reads, while one
/// character can expand 18-fold (U+FDFA): the cut keeps the cost flat.
pub(crate) const SCORING_PREFIX: usize = 400;

/// The scoring form of `s`: NFKC with the default-ignorable code points
/// removed, case kept, of the first [`SCORING_PREFIX`] code points. What
/// zxcvbn scores.
pub(crate) fn scoring_form(s: &str) -> Zeroizing<String> {
    let s = match s.char_indices().nth(SCORING_PREFIX) {
        Some((cut, _)) => &s[..cut],
        None => s,
    };
    if s.is_ascii() {
        return Zeroizing::new(s.to_owned());
    }
    to_fixed_point(s, false)
}

fn to_fixed_point(s: &str, fold: bool) -> Zeroizing<String> {
    let mut current = pass(s, fold);
    for _ in 1..MAX_PASSES {
        if is_fixed_point(&current, fold) {
            break;
        }
        let next = pass(&current, fold);
        if next == current {
            break;
        }
        current = next;
    }
    current
}

/// `true` when [`pass`] would give `s` back, found more cheaply than by
/// running it: `s` holds no default-ignorable (every pass output), is in
/// NFKC by the quick check, and (when folding) case folding leaves it
/// unchanged; then NFKC(fold(NFKC(s))) = s.
fn is_fixed_point(s: &str, fold: bool) -> bool {
    use unicode_normalization::{IsNormalized, is_nfkc_quick};
    is_nfkc_quick(s.chars()) == IsNormalized::Yes
        && (!fold || CaseMapper::new().fold_string(s) == s)
}

/// Most characters of a form. A password has at most 1024 code points,
/// but NFKC can expand one 18-fold (U+FDFA) and folding 3-fold; past this
/// many characters a form is cut, so that its cost stays flat whatever the
/// input. Nothing compared in these forms is that long: a blocklist entry
/// is cut the same way, and a context word found only past this point is
/// missed (in a password already made of such expanding characters).
pub(crate) const MAX_FORM_CHARS: usize = 4096;

/// One pass: NFKC without default-ignorables, then (when `fold`) case
/// folding and NFKC again; each step reads only what it needs to write
/// [`MAX_FORM_CHARS`] characters.
fn pass(s: &str, fold: bool) -> Zeroizing<String> {
    let compat = || {
        s.chars()
            .filter(|c| !is_default_ignorable(*c))
            .nfkc()
            .filter(|c| !is_default_ignorable(*c))
            .take(MAX_FORM_CHARS)
    };
    let nfkc = collect_exact(compat);
    if !fold {
        return nfkc;
    }
    let folded = case_fold(&nfkc);
    collect_exact(|| {
        folded
            .chars()
            .nfkc()
            .filter(|c| !is_default_ignorable(*c))
            .take(MAX_FORM_CHARS)
    })
}

/// Collects the characters `make()` yields into a buffer of exactly their
/// size (`make` is called twice: once to size, once to fill).
fn collect_exact<I: Iterator<Item = char>>(make: impl Fn() -> I) -> Zeroizing<String> {
    let bytes = make().map(char::len_utf8).sum();
    let mut out = Zeroizing::new(String::with_capacity(bytes));
    out.extend(make());
    out
}

/// Full Unicode case folding (`CaseFolding.txt`, statuses C and F; not the
/// Turkic mappings).
fn case_fold(s: &str) -> Zeroizing<String> {
    use writeable::Writeable as _;
    struct Count(usize);
    impl std::fmt::Write for Count {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            self.0 += s.len();
            Ok(())
        }
    }
    let folding = CaseMapper::new().fold(s);
    let mut size = Count(0);
    // Writing to a counter or to a `String` cannot fail.
    let _ = folding.write_to(&mut size);
    let mut out = Zeroizing::new(String::with_capacity(size.0));
    let _ = folding.write_to(&mut *out);
    out
}

/// `true` for a Default_Ignorable_Code_Point: zero-width characters, bidi
/// controls, variation selectors, tag characters, the soft hyphen, Hangul
/// fillers and the code points Unicode reserves for more of them.
pub(crate) fn is_default_ignorable(c: char) -> bool {
    DefaultIgnorableCodePoint::for_char(c)
}

/// The number of grapheme clusters (UAX #29, extended): the characters a
/// person types and sees. `e` + U+0301 is one, a family emoji is one.
pub(crate) fn grapheme_count(s: &str) -> usize {
    s.graphemes(true).count()
}

/// The grapheme clusters of `s`.
pub(crate) fn graphemes(s: &str) -> impl Iterator<Item = &str> {
    s.graphemes(true)
}

/// What one code point is, for the character-class rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CharClass {
    /// Lu, Lt.
    Uppercase,
    /// Ll.
    Lowercase,
    /// Lm, Lo: letters of scripts without case.
    Caseless,
    /// Nd, Nl, No.
    Digit,
    /// Punctuation, symbols, space separators, private use.
    Symbol,
    /// Marks (Mn, Mc, Me), format characters (Cf) and unassigned code
    /// points: part of a character, never a class of their own.
    None,
    /// Cc, line and paragraph separators, noncharacters: never allowed.
    Control,
}

/// The class of `c`, from its General_Category.
pub(crate) fn char_class(c: char) -> CharClass {
    use GeneralCategory as G;
    if NoncharacterCodePoint::for_char(c) {
        return CharClass::Control;
    }
    match CodePointMapData::<GeneralCategory>::new().get(c) {
        G::UppercaseLetter | G::TitlecaseLetter => CharClass::Uppercase,
        G::LowercaseLetter => CharClass::Lowercase,
        G::ModifierLetter | G::OtherLetter => CharClass::Caseless,
        G::DecimalNumber | G::LetterNumber | G::OtherNumber => CharClass::Digit,
        G::NonspacingMark | G::SpacingMark | G::EnclosingMark => CharClass::None,
        G::Format | G::Unassigned | G::Surrogate => CharClass::None,
        G::Control | G::LineSeparator | G::ParagraphSeparator => CharClass::Control,
        _ => CharClass::Symbol,
    }
}

/// `true` when the grapheme cluster `cluster` is an emoji sequence of
/// UTS #51 (ED-14 to ED-17): an emoji with a presentation selector (`❤️`),
/// a modifier sequence (skin tone), a flag (two regional indicators, or a
/// tag sequence like the flag of Scotland), a keycap (`1️⃣`), or such
/// elements joined by U+200D ZERO WIDTH JOINER (a family).
///
/// The default-ignorable code points these hold (U+200D, U+FE0E, U+FE0F,
/// the tag characters) are allowed there and nowhere else.
pub(crate) fn is_emoji_sequence(cluster: &str) -> bool {
    let chars: Vec<char> = cluster.chars().collect();
    let mut i = 0;
    loop {
        if !emoji_element(&chars, &mut i) {
            return false;
        }
        match chars.get(i) {
            None => return true,
            Some(&ZERO_WIDTH_JOINER) if i + 1 < chars.len() => i += 1,
            Some(_) => return false,
        }
    }
}

/// Reads one element of an emoji ZWJ sequence at `*i`, moving past it.
fn emoji_element(chars: &[char], i: &mut usize) -> bool {
    let at = |k: usize| chars.get(k).copied();
    let mut p = *i;
    let Some(base) = at(p) else {
        return false;
    };
    if matches!(base, '0'..='9' | '#' | '*') {
        // Keycap: [0-9#*] FE0F? 20E3.
        match (at(p + 1), at(p + 2)) {
            (Some(EMOJI_PRESENTATION), Some(COMBINING_KEYCAP)) => p += 3,
            (Some(COMBINING_KEYCAP), _) => p += 2,
            _ => return false,
        }
    } else if RegionalIndicator::for_char(base) {
        // Flag: two regional indicators.
        if !at(p + 1).is_some_and(RegionalIndicator::for_char) {
            return false;
        }
        p += 2;
    } else {
        if !Emoji::for_char(base) && !ExtendedPictographic::for_char(base) {
            return false;
        }
        p += 1;
        match at(p) {
            // A presentation selector only where Unicode defines the
            // variation sequence (emoji-variation-sequences.txt, which the
            // Basic_Emoji set lists with U+FE0F).
            Some(EMOJI_PRESENTATION | TEXT_PRESENTATION) => {
                let mut pair = [0u8; 8];
                let len = base.encode_utf8(&mut pair).len();
                let fe0f_len = EMOJI_PRESENTATION.encode_utf8(&mut pair[len..]).len();
                if !EmojiSetData::new::<BasicEmoji>().contains_utf8(&pair[..len + fe0f_len]) {
                    return false;
                }
                p += 1;
            }
            Some(m) if EmojiModifier::for_char(m) && EmojiModifierBase::for_char(base) => p += 1,
            _ => {}
        }
        // Tag sequence (ED-14a), limited to what Unicode uses them for:
        // a flag of a subdivision (`gbsct`), WAVING BLACK FLAG then 3 to 7
        // tag letters or digits then CANCEL TAG. Tags are invisible, and an
        // open-ended run of them would carry hidden text.
        if at(p).is_some_and(is_tag_spec) {
            let start = p;
            while at(p).is_some_and(is_tag_spec) {
                p += 1;
            }
            let subdivision = base == BLACK_FLAG
                && (3..=7).contains(&(p - start))
                && chars[start..p].iter().all(|c| is_subdivision_tag(*c));
            if !subdivision || at(p) != Some(CANCEL_TAG) {
                return false;
            }
            p += 1;
        }
    }
    *i = p;
    true
}

fn is_tag_spec(c: char) -> bool {
    ('\u{E0020}'..='\u{E007E}').contains(&c)
}

/// TAG DIGIT ZERO..NINE, TAG LATIN SMALL LETTER A..Z.
fn is_subdivision_tag(c: char) -> bool {
    ('\u{E0030}'..='\u{E0039}').contains(&c) || ('\u{E0061}'..='\u{E007A}').contains(&c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn fullwidth_ligatures_and_case_meet_in_the_matching_form() {
        let m = |s: &str| matching_form(s).to_string();
        assert_eq!(m("\u{FF30}\u{FF41}\u{FF53}\u{FF53}\u{FF11}!"), "pass1!");
        assert_eq!(m("PASSWORD"), "password");
        assert_eq!(m("pass\u{200B}word"), "password");
        assert_eq!(m("\u{FB01}sh"), "fish");
        assert_eq!(m("STRA\u{1E9E}E"), "strasse");
        assert_eq!(m("stra\u{DF}e"), "strasse");
        assert_eq!(m("\u{3A3}\u{39F}\u{3A3}"), "\u{3C3}\u{3BF}\u{3C3}");
        assert_eq!(m("\u{212B}ngstr\u{F6}m"), m("\u{C5}NGSTRO\u{308}M"));
        assert_eq!(m("\u{2460}\u{24B6}"), "1a", "circled digit and letter");
        // U+FFA0 maps under NFKC to a default-ignorable Hangul filler.
        assert_eq!(m("a\u{FFA0}b"), "ab");
    }

    #[test]
    fn the_scoring_form_keeps_case() {
        let s = |x: &str| scoring_form(x).to_string();
        assert_eq!(
            s("\u{FF30}\u{FF41}\u{FF53}\u{FF53}\u{FF57}\u{FF4F}\u{FF52}\u{FF44}\u{FF11}!"),
            "Password1!"
        );
        assert_eq!(s("Password123!\u{200B}"), "Password123!");
        assert_eq!(s("Tr0ub4dor&3"), "Tr0ub4dor&3");
        assert_eq!(s("\u{C5}ngstr\u{F6}m1988&"), "\u{C5}ngstr\u{F6}m1988&");
    }

    #[test]
    fn ascii_takes_the_fast_path_correctly() {
        // The fast path assumes no ASCII character is default-ignorable and
        // that NFKC + folding of ASCII is lowercasing.
        for b in 0u8..0x80 {
            let c = b as char;
            assert!(!is_default_ignorable(c), "{c:?}");
            let s = c.to_string();
            assert_eq!(*to_fixed_point(&s, true), *matching_form(&s), "{c:?}");
            assert_eq!(*to_fixed_point(&s, false), *scoring_form(&s), "{c:?}");
        }
    }

    #[test]
    fn classes_follow_general_category() {
        assert_eq!(char_class('A'), CharClass::Uppercase);
        assert_eq!(char_class('\u{1C5}'), CharClass::Uppercase, "titlecase Dž");
        assert_eq!(char_class('z'), CharClass::Lowercase);
        assert_eq!(char_class('\u{4E2D}'), CharClass::Caseless);
        assert_eq!(char_class('\u{663}'), CharClass::Digit);
        assert_eq!(char_class('@'), CharClass::Symbol);
        assert_eq!(char_class(' '), CharClass::Symbol);
        assert_eq!(char_class('\u{1F600}'), CharClass::Symbol);
        assert_eq!(char_class('\u{E000}'), CharClass::Symbol, "private use");
        for mark in ['\u{301}', '\u{93C}', '\u{903}', '\u{20DD}', '\u{FE0F}'] {
            assert_eq!(char_class(mark), CharClass::None, "{mark:?}");
        }
        for format in ['\u{200B}', '\u{200D}', '\u{202E}', '\u{600}', '\u{E0067}'] {
            assert_eq!(char_class(format), CharClass::None, "{format:?}");
        }
        assert_eq!(char_class('\u{378}'), CharClass::None, "unassigned");
        for control in [
            '\0', '\t', '\u{7F}', '\u{85}', '\u{2028}', '\u{2029}', '\u{FDD0}',
        ] {
            assert_eq!(char_class(control), CharClass::Control, "{control:?}");
        }
        assert_eq!(char_class('\u{10FFFF}'), CharClass::Control, "noncharacter");
    }

    #[test]
    fn default_ignorables_come_from_unicode_data() {
        for c in [
            '\u{AD}',
            '\u{34F}',
            '\u{61C}',
            '\u{115F}',
            '\u{17B4}',
            '\u{180B}',
            '\u{180E}',
            '\u{200B}',
            '\u{200C}',
            '\u{200D}',
            '\u{200E}',
            '\u{202E}',
            '\u{2060}',
            '\u{2066}',
            '\u{3164}',
            '\u{FE00}',
            '\u{FE0F}',
            '\u{FEFF}',
            '\u{FFA0}',
            '\u{1BCA0}',
            '\u{E0001}',
            '\u{E0100}',
            '\u{E0FFF}',
        ] {
            assert!(is_default_ignorable(c), "{c:?}");
        }
        for c in [
            'a',
            ' ',
            '\u{A0}',
            '\u{3000}',
            '\u{301}',
            '\u{600}',
            '\u{FFF9}',
            '\u{1F600}',
        ] {
            assert!(!is_default_ignorable(c), "{c:?}");
        }
    }

    #[test]
    fn emoji_sequences() {
        for ok in [
            "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}\u{200D}\u{1F466}",
            "\u{1F468}\u{1F3FB}\u{200D}\u{1F469}\u{1F3FF}\u{200D}\u{1F466}\u{1F3FD}",
            "\u{2764}\u{FE0F}",
            "\u{2764}\u{FE0E}",
            "\u{A9}\u{FE0F}",
            "#\u{FE0F}\u{20E3}",
            "1\u{20E3}",
            "\u{1F3F4}\u{E0067}\u{E0062}\u{E0077}\u{E006C}\u{E0073}\u{E007F}",
            "\u{1F3F3}\u{FE0F}\u{200D}\u{1F308}",
            "\u{1F469}\u{200D}\u{2764}\u{FE0F}\u{200D}\u{1F48B}\u{200D}\u{1F468}",
            "\u{1F1EB}\u{1F1F7}",
        ] {
            assert_eq!(graphemes(ok).count(), 1, "{ok:?} is one grapheme");
            assert!(is_emoji_sequence(ok), "{ok:?}");
        }
        for bad in [
            "x\u{FE0F}",
            "1\u{FE0F}",
            "\u{1F600}\u{FE0F}",
            "\u{1F600}\u{200D}",
            "\u{200D}",
            "\u{1F3F4}\u{E0067}\u{E0062}",
            "\u{1F3F4}\u{E007F}\u{E0067}",
            // Tags as hidden text: too long, capitals, or not after a flag.
            "\u{1F3F4}\u{E0068}\u{E0069}\u{E0064}\u{E0064}\u{E0065}\u{E006E}\u{E0074}\u{E0078}\u{E007F}",
            "\u{1F3F4}\u{E0047}\u{E0042}\u{E0053}\u{E007F}",
            "\u{1F600}\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}",
            "\u{1F3F4}\u{E0020}\u{E0067}\u{E0062}\u{E007F}",
            "\u{1F1EB}",
            "a\u{200D}",
            "",
        ] {
            assert!(!is_emoji_sequence(bad), "{bad:?}");
        }
    }

    #[test]
    fn a_grapheme_of_ten_thousand_marks() {
        let s: String = std::iter::once('a')
            .chain(std::iter::repeat_n('\u{301}', 10_000))
            .collect();
        assert_eq!(grapheme_count(&s), 1);
        let m = matching_form(&s);
        assert!(m.starts_with('\u{E1}'), "a + acute composes");
        assert_eq!(m.chars().count(), MAX_FORM_CHARS);
        // U+FDFA is 18 characters in NFKC: the form is cut, not 18,432 long.
        let wide = "\u{FDFA}".repeat(1024);
        assert_eq!(matching_form(&wide).chars().count(), MAX_FORM_CHARS);
        assert_eq!(*matching_form(&matching_form(&wide)), *matching_form(&wide));
        // Marks of different classes in reverse canonical order: NFKC sorts
        // them (a stable sort, n log n), and the result is still stable.
        let mixed: String = std::iter::once('a')
            .chain(std::iter::repeat_n("\u{301}\u{316}", 5_000).flat_map(str::chars))
            .collect();
        let m = matching_form(&mixed);
        assert_eq!(m.chars().count(), MAX_FORM_CHARS);
        assert_eq!(*matching_form(&m), *m);
    }

    /// Characters where NFKC and case folding interact, or that expand.
    const TRICKY: &[char] = &[
        'A',
        'z',
        '\u{DF}',
        '\u{1E9E}',
        '\u{130}',
        '\u{131}',
        '\u{345}',
        '\u{390}',
        '\u{3A3}',
        '\u{3C2}',
        '\u{1C4}',
        '\u{1C5}',
        '\u{1F88}',
        '\u{1FBC}',
        '\u{2126}',
        '\u{212A}',
        '\u{212B}',
        '\u{FB01}',
        '\u{FB03}',
        '\u{FDFA}',
        '\u{FF21}',
        '\u{FF41}',
        '\u{FFA0}',
        '\u{3164}',
        '\u{1100}',
        '\u{1161}',
        '\u{11A8}',
        '\u{AC00}',
        '\u{300}',
        '\u{301}',
        '\u{316}',
        '\u{327}',
        '\u{200B}',
        '\u{200D}',
        '\u{FE0F}',
        '\u{E0100}',
        '\u{1D400}',
        '\u{1D5A0}',
        '\u{2460}',
        '\u{24B6}',
        '\u{24D0}',
        '\u{33C2}',
        '\u{3250}',
        '\u{10400}',
        '\u{1E900}',
        '\u{AB70}',
        '\u{13F8}',
        '\u{0958}',
        '\u{093C}',
        '\u{FB2A}',
        '\u{F900}',
    ];

    fn tricky_string() -> impl Strategy<Value = String> {
        prop::collection::vec(prop::sample::select(TRICKY), 0..24)
            .prop_map(|v| v.into_iter().collect())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn matching_form_is_idempotent(s in any::<String>()) {
            let once = matching_form(&s);
            prop_assert_eq!(&*matching_form(&once), &*once);
            prop_assert!(!once.chars().any(is_default_ignorable));
        }

        #[test]
        fn matching_form_is_idempotent_on_tricky_text(s in tricky_string()) {
            let once = matching_form(&s);
            prop_assert_eq!(&*matching_form(&once), &*once);
            // A fixed point within the pass bound: one more pass changes nothing.
            prop_assert_eq!(&*pass(&once, true), &*once);
            let scored = scoring_form(&s);
            prop_assert_eq!(&*scoring_form(&scored), &*scored);
        }

        #[test]
        fn matching_form_ignores_case_and_width(s in "[a-zA-Z0-9]{0,16}") {
            let fullwidth: String = s
                .chars()
                .map(|c| char::from_u32(c as u32 - 0x21 + 0xFF01).unwrap_or(c))
                .collect();
            let lower = s.to_ascii_lowercase();
            let from_fullwidth = matching_form(&fullwidth);
            let from_upper = matching_form(&s.to_uppercase());
            prop_assert_eq!(from_fullwidth.as_str(), lower.as_str());
            prop_assert_eq!(from_upper.as_str(), lower.as_str());
        }
    }
}
