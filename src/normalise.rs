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
/// idempotent, but one can undo the other's work (folding `ẞ` gives `ss`,
/// NFKC of a folded compatibility character can give a new capital); two
/// passes reach the fixed point on everything the property tests generate,
/// the bound only keeps the cost linear whatever the input.
const MAX_PASSES: usize = 4;

const ZERO_WIDTH_JOINER: char = '\u{200D}';
const TEXT_PRESENTATION: char = '\u{FE0E}';
const EMOJI_PRESENTATION: char = '\u{FE0F}';
const COMBINING_KEYCAP: char = '\u{20E3}';
const CANCEL_TAG: char = '\u{E007F}';

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

/// The scoring form of `s`: NFKC with the default-ignorable code points
/// removed, case kept. What zxcvbn scores.
pub(crate) fn scoring_form(s: &str) -> Zeroizing<String> {
    if s.is_ascii() {
        return Zeroizing::new(s.to_owned());
    }
    to_fixed_point(s, false)
}

fn to_fixed_point(s: &str, fold: bool) -> Zeroizing<String> {
    let mut current = pass(s, fold);
    for _ in 1..MAX_PASSES {
        let next = pass(&current, fold);
        if next == current {
            break;
        }
        current = next;
    }
    current
}

/// One pass: NFKC without default-ignorables, then (when `fold`) case
/// folding and NFKC again.
fn pass(s: &str, fold: bool) -> Zeroizing<String> {
    let compat = || {
        s.chars()
            .filter(|c| !is_default_ignorable(*c))
            .nfkc()
            .filter(|c| !is_default_ignorable(*c))
    };
    let nfkc = collect_exact(compat);
    if !fold {
        return nfkc;
    }
    let folded = case_fold(&nfkc);
    collect_exact(|| folded.chars().nfkc().filter(|c| !is_default_ignorable(*c)))
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
        // Tag sequence: tag_spec (E0020..E007E)+ then CANCEL TAG.
        if at(p).is_some_and(is_tag_spec) {
            while at(p).is_some_and(is_tag_spec) {
                p += 1;
            }
            if at(p) != Some(CANCEL_TAG) {
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
