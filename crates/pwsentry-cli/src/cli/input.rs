//! Reading passwords: one bounded line from stdin, or a masked prompt when
//! stdin is a terminal. Lines are never echoed or logged.

use anyhow::{Context as _, bail};
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
/// terminal, else one line of stdin (an empty stdin is an empty password).
pub fn read_single(prompt: &str) -> anyhow::Result<Single> {
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
    match read_line(&mut stdin.lock()).context("cannot read stdin")? {
        None => Ok(Single::Password(Password::default())),
        Some(Line::Text(p)) => Ok(Single::Password(p)),
        Some(Line::TooLong) => Ok(Single::TooLong),
        Some(Line::InvalidUtf8 { offset }) => {
            bail!(
                "stdin is not valid UTF-8 (first invalid byte at offset {offset}); passwords must be UTF-8 text"
            )
        }
    }
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

    #[test]
    fn invalid_utf8_reports_offset() {
        assert_eq!(lines(b"ab\xffc\nok\n"), ["utf8:2", "text:ok"]);
    }
}
