//! Reading passwords: one bounded line from stdin, or a masked prompt when
//! stdin is a terminal. Lines are never echoed or logged.

use super::render::{coded, usage};
use anyhow::Context as _;
use pwsentry::Password;
use pwsentry::policy::HARD_MAX_LENGTH;
use std::io::{BufRead, IsTerminal};
use zeroize::Zeroizing;

/// Longest line kept in memory: 4 bytes per code point of the hard maximum,
/// with room for decomposed forms. Longer lines are skipped, not stored.
pub const LINE_LIMIT: usize = 4 * 4 * HARD_MAX_LENGTH as usize + 64;

/// One line of input.
pub enum Line {
    /// A line, newline removed.
    Text(Password),
    /// Longer than [`LINE_LIMIT`] bytes: rejected as too long without being kept.
    TooLong,
    /// Not UTF-8; `offset` is the first bad byte.
    InvalidUtf8 { offset: usize },
}

/// Reads one line of at most [`LINE_LIMIT`] bytes; the rest of a longer line
/// is read and dropped. `Ok(None)` at end of input.
pub fn read_line(reader: &mut impl BufRead) -> std::io::Result<Option<Line>> {
    let mut buf = Zeroizing::new(Vec::with_capacity(128));
    let mut too_long = false;
    let mut saw_any = false;
    loop {
        let available = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            break;
        }
        saw_any = true;
        let (chunk, done) = match memchr(available) {
            Some(i) => (&available[..i], Some(i + 1)),
            None => (available, None),
        };
        if !too_long {
            if buf.len() + chunk.len() > LINE_LIMIT {
                too_long = true;
                buf.clear();
            } else {
                buf.extend_from_slice(chunk);
            }
        }
        let used = done.unwrap_or(available.len());
        reader.consume(used);
        if done.is_some() {
            break;
        }
    }
    if !saw_any {
        return Ok(None);
    }
    if too_long {
        return Ok(Some(Line::TooLong));
    }
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    match std::str::from_utf8(&buf) {
        Ok(s) => Ok(Some(Line::Text(Password::new(s.to_owned())))),
        Err(e) => Ok(Some(Line::InvalidUtf8 {
            offset: e.valid_up_to(),
        })),
    }
}

fn memchr(b: &[u8]) -> Option<usize> {
    b.iter().position(|c| *c == b'\n')
}

/// What a single-password command got.
pub enum Single {
    /// A password to check.
    Password(Password),
    /// A line too long to keep.
    TooLong,
}

/// Reads the one password a command needs: a masked prompt when stdin is a
/// terminal, else one line of stdin. An empty stdin is a usage error (not
/// an empty password), and so is a second line: `several` says what to do
/// instead (e.g. "use --batch to check one password per line").
pub fn read_single(prompt: &str, several: &str) -> anyhow::Result<Single> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        let term = console::Term::stderr();
        term.write_str(prompt).context("cannot write the prompt")?;
        let line = Zeroizing::new(
            term.read_secure_line()
                .context("cannot read the password from the terminal")?,
        );
        return Ok(Single::Password(Password::new(line.to_string())));
    }
    single_line(&mut stdin.lock(), several)
}

/// The one line of `reader`, as [`read_single`] takes it (for a command
/// that has read other lines of the same input first).
pub fn single_line(reader: &mut impl BufRead, several: &str) -> anyhow::Result<Single> {
    let first = match read_line(reader).context("cannot read stdin")? {
        None => {
            return Err(usage(
                "no password on stdin (it is empty); pipe one line, e.g. `printf '%s\\n' \"$pw\" | pwsentry check`",
            ));
        }
        Some(Line::Text(p)) => Single::Password(p),
        Some(Line::TooLong) => Single::TooLong,
        Some(Line::InvalidUtf8 { offset }) => {
            return Err(coded(
                "invalid_input",
                format!(
                    "stdin is not valid UTF-8 (first invalid byte at offset {offset}); passwords must be UTF-8 text"
                ),
            ));
        }
    };
    if read_line(reader).context("cannot read stdin")?.is_some() {
        return Err(usage(format!(
            "stdin has more than one line, but this command takes one password; {several}"
        )));
    }
    Ok(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8]) -> Vec<String> {
        let mut r = std::io::BufReader::with_capacity(7, input);
        let mut out = Vec::new();
        while let Some(l) = read_line(&mut r).unwrap() {
            out.push(match l {
                Line::Text(p) => format!("text:{}", p.expose()),
                Line::TooLong => "too-long".into(),
                Line::InvalidUtf8 { offset } => format!("utf8:{offset}"),
            });
        }
        out
    }

    #[test]
    fn splits_lines_and_strips_crlf() {
        assert_eq!(
            lines(b"a\r\nbc\n\nlast"),
            ["text:a", "text:bc", "text:", "text:last"]
        );
        assert!(lines(b"").is_empty());
    }

    #[test]
    fn long_lines_are_dropped_and_reading_resumes() {
        let mut input = vec![b'x'; LINE_LIMIT + 10];
        input.extend_from_slice(b"\nok\n");
        assert_eq!(lines(&input), ["too-long", "text:ok"]);
        let exact = vec![b'y'; LINE_LIMIT];
        assert_eq!(lines(&exact)[0].len(), LINE_LIMIT + 5);
    }

    fn single(input: &[u8]) -> Result<String, String> {
        match single_line(&mut &input[..], "use --batch") {
            Ok(Single::Password(p)) => Ok(format!("text:{}", p.expose())),
            Ok(Single::TooLong) => Ok("too-long".into()),
            Err(e) => Err(format!("{}: {e}", crate::cli::render::error_code(&e))),
        }
    }

    #[test]
    fn a_single_password_is_exactly_one_line() {
        assert_eq!(single(b"pw\n"), Ok("text:pw".into()));
        assert_eq!(single(b"pw"), Ok("text:pw".into()));
        assert_eq!(
            single(b"\n"),
            Ok("text:".into()),
            "an empty line is an empty password"
        );
        let empty = single(b"").unwrap_err();
        assert!(empty.starts_with("usage: no password on stdin"), "{empty}");
        let two = single(b"a\nb\n").unwrap_err();
        assert!(
            two.starts_with("usage: stdin has more than one line") && two.ends_with("use --batch"),
            "{two}"
        );
        assert!(
            single(b"a\n\n").is_err(),
            "a second, empty line is a second line"
        );
        assert!(
            single(b"ab\xff\n")
                .unwrap_err()
                .starts_with("invalid_input: ")
        );
    }

    #[test]
    fn invalid_utf8_reports_offset() {
        assert_eq!(lines(b"ab\xffc\nok\n"), ["utf8:2", "text:ok"]);
    }
}
