//! `pwsentry set`: choose a new password at a masked prompt with a live
//! strength meter, confirm it, record it in the history and optionally
//! print a mail-server hash of it.
//!
//! The prompt runs only when stdin and stderr are terminals; otherwise
//! `set` reads one line from stdin and checks and records it like
//! `record`. Either way the full check and the recording are the library's
//! `Checker::evaluate_change` and `Checker::commit`, as in `record`.
//! The password is never echoed, never put in argv, an error or a log line.
//! Hash lines (and JSON with `--json`) go to stdout; everything else goes
//! to the terminal on stderr, so `pwsentry set ... > hash.txt` works.

use super::input::{self, Line};
use super::{EXIT_ABORTED, EXIT_OK, EXIT_REJECTED, GlobalArgs, history_cmds, render};
use anyhow::{Context as _, bail};
use clap::{Args, ValueEnum};
use console::{Key, Term, style};
use pwsentry::generate::{Generator, Style};
use pwsentry::history::{Change, CommitOutcome};
use pwsentry::mailhash::{MailHashParams, MailScheme};
use pwsentry::store::Store;
use pwsentry::{Checker, Context, Error, Password, Rule, Verdict, Violation};
use std::io::{IsTerminal, Write};
use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroizing;

/// Arguments of `set`.
#[derive(Debug, Args)]
pub struct SetArgs {
    /// The account whose password is being set
    #[arg(long, value_name = "ID")]
    pub account: String,
    /// Also print a hash of the new password to stdout: `dovecot` (a
    /// `{ARGON2ID}` passwd-file field) or `phc` (the bare argon2id string)
    #[arg(long, value_name = "FORMAT")]
    pub print_hash: Option<HashFormat>,
}

/// The hash line `--print-hash` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HashFormat {
    /// `{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$...` for a Dovecot passwd-file
    Dovecot,
    /// The bare PHC string `$argon2id$v=19$...`
    Phc,
}

impl HashFormat {
    fn scheme(self) -> MailScheme {
        match self {
            HashFormat::Dovecot => MailScheme::Dovecot,
            HashFormat::Phc => MailScheme::Phc,
        }
    }
}

/// Rejected passwords before `set` gives up.
const MAX_TRIES: u32 = 3;
/// Confirmation attempts per accepted password.
const MAX_CONFIRMATIONS: u32 = 3;
/// What a person types at the first prompt to get a generated password.
const GENERATE_KEY: &str = "g";

pub fn run(g: &GlobalArgs, args: &SetArgs) -> anyhow::Result<u8> {
    history_cmds::check_account(&args.account)?;
    let checker = Checker::new(g.load_policy()?);
    let context = Context::new().account(args.account.clone());
    // Opened (and created) before anyone types: a database that cannot be
    // written should fail now, not after a password was chosen.
    let store = history_cmds::open_store(g)?;
    let job = Job {
        g,
        args,
        checker: &checker,
        context: &context,
        store: &store,
    };
    if !std::io::stdin().is_terminal() {
        return job.read_stdin();
    }
    let term = Term::stderr();
    if !term.is_term() {
        bail!(
            "set: stdin is a terminal but stderr is not, so there is nowhere to show the prompt; redirect only stdout, or pipe the password on stdin"
        );
    }
    job.interactive(&Screen::new(term))
}

/// One run of `set`: what it needs to judge, record and report.
struct Job<'a> {
    g: &'a GlobalArgs,
    args: &'a SetArgs,
    checker: &'a Checker,
    context: &'a Context,
    store: &'a dyn Store,
}

/// What became of an accepted password at the end.
enum Finished {
    Recorded,
    /// Another process changed the history meanwhile and the password is
    /// no longer acceptable (reuse of what was just recorded, min age).
    RejectedMeanwhile(Verdict),
}

impl Job<'_> {
    /// The full check: rules, strength and the account's history (reuse,
    /// near reuse, minimum age), at the time of the check.
    fn evaluate(&self, password: &Password) -> anyhow::Result<Change> {
        let change = self.checker.evaluate_change(
            self.store,
            &self.args.account,
            password.expose(),
            self.context,
            self.g.now(),
        )?;
        Ok(change)
    }

    /// Hashes for `--print-hash` (first, so that a failure leaves nothing
    /// recorded), records, then prints the hash line or JSON.
    fn finish(&self, change: Change, password: &Password) -> anyhow::Result<Finished> {
        let hash = match self.args.print_hash {
            Some(format) => {
                // The mail server compares the bytes the mail client sends, so
                // this hash is of the password exactly as typed.
                let params = MailHashParams::for_policy(self.checker.policy());
                Some(
                    format
                        .scheme()
                        .hash(password, &params)
                        .context("cannot hash the new password")?,
                )
            }
            None => None,
        };
        if let Some(verdict) = self.record_new_password(change, password)? {
            return Ok(Finished::RejectedMeanwhile(verdict));
        }
        let mut out = std::io::stdout().lock();
        if self.g.json {
            writeln!(
                out,
                "{}",
                serde_json::json!({"account": self.args.account, "recorded": true, "hash": hash})
            )?;
        } else if let Some(hash) = hash {
            writeln!(out, "{hash}")?;
        }
        out.flush()?;
        Ok(Finished::Recorded)
    }

    /// Records an accepted change, the way `record` does: commit, and when
    /// another process recorded for the account in between (`Busy`),
    /// evaluate again and retry. `Some(verdict)` if the password is no
    /// longer acceptable; nothing was recorded then.
    fn record_new_password(
        &self,
        mut change: Change,
        password: &Password,
    ) -> anyhow::Result<Option<Verdict>> {
        let mut attempt = 1;
        loop {
            let verdict = change.verdict().clone();
            match self.checker.commit(self.store, change) {
                Ok(CommitOutcome::Recorded) => return Ok(None),
                Ok(_) => return Ok(Some(verdict)),
                Err(Error::Busy) if attempt < history_cmds::RECORD_ATTEMPTS => {
                    history_cmds::busy_backoff(attempt);
                    attempt += 1;
                    change = self.evaluate(password)?;
                }
                Err(e) => {
                    return Err(anyhow::Error::new(e).context("cannot record the new password"));
                }
            }
        }
    }

    /// Not a terminal: one line from stdin, checked and recorded like
    /// `record`. The verdict goes to stderr (with `--json`, one object to
    /// stdout), the hash line to stdout.
    fn read_stdin(&self) -> anyhow::Result<u8> {
        let line = input::read_line(&mut std::io::stdin().lock()).context("cannot read stdin")?;
        let password = match line {
            None => Password::default(),
            Some(Line::Text(p)) => p,
            Some(Line::TooLong) => {
                Password::new("x".repeat(self.checker.policy().length().max as usize + 1))
            }
            Some(Line::InvalidUtf8 { offset }) => {
                bail!(
                    "stdin is not valid UTF-8 (first invalid byte at offset {offset}); passwords must be UTF-8 text"
                )
            }
        };
        let change = self.evaluate(&password)?;
        let verdict = change.verdict().clone();
        let rejected = if verdict.accepted() {
            match self.finish(change, &password)? {
                Finished::Recorded => None,
                Finished::RejectedMeanwhile(v) => Some(v),
            }
        } else {
            Some(verdict.clone())
        };
        match rejected {
            None => {
                if !self.g.json {
                    eprint!("{}", render::verdict_text(&verdict));
                    eprintln!("recorded as the current password of {}", self.args.account);
                }
                Ok(EXIT_OK)
            }
            Some(verdict) => {
                if self.g.json {
                    let mut v = render::verdict_json(&verdict);
                    v["account"] = serde_json::json!(self.args.account);
                    v["recorded"] = serde_json::Value::Bool(false);
                    println!("{v}");
                } else {
                    eprint!("{}", render::verdict_text(&verdict));
                    eprintln!("not recorded");
                }
                Ok(EXIT_REJECTED)
            }
        }
    }

    fn interactive(&self, screen: &Screen) -> anyhow::Result<u8> {
        let _echo_off = EchoOff::new()?;
        screen.say(&format!(
            "New password for {}",
            style(&self.args.account).bold().for_stderr()
        ))?;
        screen.say(
            "Type it (nothing is shown) and press Enter, or type g and Enter to have one generated. Esc or Ctrl-C cancels.",
        )?;
        let meter = |buf: &str| live_meter(self.checker, self.context, screen, buf);
        let mut tries = 0;
        while tries < MAX_TRIES {
            let Some(typed) = screen.read_password("New password: ", Some(&meter))? else {
                return aborted(screen);
            };
            let candidate = if tries == 0 && typed.expose() == GENERATE_KEY {
                match self.generated(screen)? {
                    Some(p) => p,
                    None => continue,
                }
            } else {
                typed
            };
            let change = self.evaluate(&candidate)?;
            if !change.verdict().accepted() {
                tries += 1;
                if self.rejected(screen, change.verdict(), tries)? {
                    return Ok(EXIT_REJECTED);
                }
                continue;
            }
            let score = change.verdict().score();
            match self.confirm(screen, &candidate)? {
                Confirmed::Yes => {}
                Confirmed::Mismatch => {
                    screen.say("The entries did not match; nothing was recorded.")?;
                    return Ok(EXIT_REJECTED);
                }
                Confirmed::Aborted => return aborted(screen),
            }
            return match self.finish(change, &candidate)? {
                Finished::Recorded => {
                    let score = score.map_or_else(String::new, |s| format!(" (strength {s}/4)"));
                    screen.say(&format!(
                        "{} New password for {} recorded{score}.",
                        screen.ok_mark(),
                        self.args.account
                    ))?;
                    Ok(EXIT_OK)
                }
                Finished::RejectedMeanwhile(verdict) => {
                    screen.say("The history changed while you were typing:")?;
                    screen.rejection(&verdict)?;
                    screen.say("Nothing was recorded.")?;
                    Ok(EXIT_REJECTED)
                }
            };
        }
        screen.say(&format!(
            "{MAX_TRIES} passwords were rejected; nothing was recorded."
        ))?;
        Ok(EXIT_REJECTED)
    }

    /// Shows why a password was rejected; `true` when trying again is
    /// pointless (the current password is too new to change).
    fn rejected(&self, screen: &Screen, verdict: &Verdict, tries: u32) -> anyhow::Result<bool> {
        screen.rejection(verdict)?;
        if verdict.violates(Rule::MinAge) {
            screen
                .say("The current password is too new to be changed yet; nothing was recorded.")?;
            return Ok(true);
        }
        if tries < MAX_TRIES {
            let left = MAX_TRIES - tries;
            screen.say(&format!(
                "{left} {} left.",
                if left == 1 { "try" } else { "tries" }
            ))?;
        }
        Ok(false)
    }

    /// Generates a passphrase (a random password if the policy cannot take
    /// one) and shows it once.
    fn generated(&self, screen: &Screen) -> anyhow::Result<Option<Password>> {
        let generator = Generator::new(self.checker).context(self.context.clone());
        let made = generator
            .generate(Style::passphrase())
            .or_else(|_| generator.generate(Style::password_for(self.checker.policy())));
        match made {
            Ok(made) => {
                screen.say(&format!(
                    "Generated password ({:.0} bits), shown only this once. Store it in your password manager or write it down now:",
                    made.entropy_bits()
                ))?;
                // Indented when it fits; a wrapped indented line would look
                // like two pieces.
                let shown = made.password().expose();
                let indent = if shown.chars().count() + 4 <= screen.width() {
                    "    "
                } else {
                    ""
                };
                screen.line("")?;
                screen.line(&format!("{indent}{}", style(shown).bold().for_stderr()))?;
                screen.line("")?;
                Ok(Some(made.into_password()))
            }
            Err(e) => {
                screen.say(&format!(
                    "Cannot generate a password for this policy: {e}. Type one instead."
                ))?;
                Ok(None)
            }
        }
    }

    fn confirm(&self, screen: &Screen, password: &Password) -> anyhow::Result<Confirmed> {
        for attempt in 1..=MAX_CONFIRMATIONS {
            let Some(again) = screen.read_password("Type it again to confirm: ", None)? else {
                return Ok(Confirmed::Aborted);
            };
            if again == *password {
                return Ok(Confirmed::Yes);
            }
            if attempt < MAX_CONFIRMATIONS {
                screen.say("That does not match. Type the same password again.")?;
            }
        }
        Ok(Confirmed::Mismatch)
    }
}

enum Confirmed {
    Yes,
    Mismatch,
    Aborted,
}

fn aborted(screen: &Screen) -> anyhow::Result<u8> {
    screen.say("Cancelled; nothing was recorded.")?;
    Ok(EXIT_ABORTED)
}

/// The meter under the prompt: a bar with the score in words, the length,
/// and every rule not yet met, in plain words.
fn live_meter(checker: &Checker, context: &Context, screen: &Screen, buf: &str) -> Vec<String> {
    if buf.is_empty() {
        return Vec::new();
    }
    let verdict = checker.evaluate(buf, context);
    let mut lines = Vec::new();
    let bar = screen.bar(verdict.score());
    let words = verdict.score().map_or("not scored", render::score_words);
    let score = verdict
        .score()
        .map_or_else(|| "-".to_owned(), |s| s.to_string());
    lines.push(format!("  {bar} {score}/4 {words}"));
    let chars = buf.nfc().count();
    let hints = live_hints(checker, &verdict, buf);
    if hints.is_empty() {
        lines.push(format!("  {chars} characters; meets the rules so far"));
    } else {
        lines.push(format!(
            "  {chars} {}; still needed:",
            if chars == 1 {
                "character"
            } else {
                "characters"
            }
        ));
        for hint in hints {
            lines.extend(screen.wrap(&hint, "  - ", "    "));
        }
    }
    lines
}

/// Each unmet rule as a short instruction ("add a symbol such as @ or #").
fn live_hints(checker: &Checker, verdict: &Verdict, buf: &str) -> Vec<String> {
    let policy = checker.policy();
    let comp = policy.composition();
    let have = ClassCounts::of(buf);
    let more = |need: u32, have: u32, one: &str, many: &str| -> String {
        let n = need.saturating_sub(have).max(1);
        if n == 1 {
            one.to_owned()
        } else {
            format!("{n} more {many}")
        }
    };
    verdict
        .violations()
        .iter()
        .map(|v: &Violation| match v.rule {
            Rule::MinLength => {
                let min = policy.length().min;
                let n = (min as usize).saturating_sub(buf.nfc().count());
                format!("at least {min} characters: {n} more")
            }
            Rule::MaxLength => format!("at most {} characters", policy.length().max),
            Rule::Letters => format!(
                "add {}",
                more(comp.min_letters, have.letters, "a letter", "letters")
            ),
            Rule::Lowercase => {
                format!(
                    "add {}",
                    more(
                        comp.min_lowercase,
                        have.lower,
                        "a lowercase letter",
                        "lowercase letters"
                    )
                )
            }
            Rule::Uppercase => {
                format!(
                    "add {}",
                    more(
                        comp.min_uppercase,
                        have.upper,
                        "an uppercase letter",
                        "uppercase letters"
                    )
                )
            }
            Rule::Digits => format!(
                "add {}",
                more(comp.min_digits, have.digits, "a digit", "digits")
            ),
            Rule::Symbols => format!(
                "add {} such as @ or #",
                more(comp.min_symbols, have.symbols, "a symbol", "symbols")
            ),
            Rule::MinClasses => format!(
                "mix at least {} kinds: lowercase, uppercase, digits, symbols",
                comp.min_classes
            ),
            Rule::MaxRepeat => format!("no character more than {} times in a row", comp.max_repeat),
            Rule::MaxSequence => format!(
                "no runs like abcd or 4321 longer than {}",
                comp.max_sequence
            ),
            Rule::ContextWord => "leave out your name and the account name".to_owned(),
            Rule::Blocklist => "too common: it is on a list of banned passwords".to_owned(),
            Rule::MinScore => format!(
                "harder to guess: strength {} of 4 needed; add words or characters",
                policy.strength().min_score
            ),
            Rule::ControlCharacters => "no control characters such as tab".to_owned(),
            _ => v.message.clone(),
        })
        .collect()
}

/// Character classes as the policy counts them (see the rules module).
#[derive(Default)]
struct ClassCounts {
    letters: u32,
    lower: u32,
    upper: u32,
    digits: u32,
    symbols: u32,
}

impl ClassCounts {
    fn of(s: &str) -> ClassCounts {
        let mut c = ClassCounts::default();
        for ch in s.nfc() {
            if ch.is_control() {
                continue;
            } else if ch.is_alphabetic() {
                c.letters += 1;
                c.lower += u32::from(ch.is_lowercase());
                c.upper += u32::from(ch.is_uppercase());
            } else if ch.is_numeric() {
                c.digits += 1;
            } else {
                c.symbols += 1;
            }
        }
        c
    }
}

/// Keeps the terminal from echoing (and from turning Ctrl-C into a
/// signal) for the whole prompt, not just while a key is being read, so
/// keys typed while the meter is being computed are never shown. Restores
/// the saved settings on drop and discards unread input, so no typed-ahead
/// password characters reach the shell.
#[cfg(unix)]
struct EchoOff {
    saved: rustix::termios::Termios,
}

#[cfg(unix)]
impl EchoOff {
    fn new() -> anyhow::Result<EchoOff> {
        use rustix::termios::{
            LocalModes, OptionalActions, SpecialCodeIndex, tcgetattr, tcsetattr,
        };
        let stdin = std::io::stdin();
        let saved = tcgetattr(&stdin).context("cannot read the terminal settings")?;
        let mut quiet = saved.clone();
        quiet.local_modes &=
            !(LocalModes::ECHO | LocalModes::ICANON | LocalModes::ISIG | LocalModes::IEXTEN);
        quiet.special_codes[SpecialCodeIndex::VMIN] = 1;
        quiet.special_codes[SpecialCodeIndex::VTIME] = 0;
        tcsetattr(&stdin, OptionalActions::Now, &quiet)
            .context("cannot switch off terminal echo")?;
        Ok(EchoOff { saved })
    }
}

#[cfg(unix)]
impl Drop for EchoOff {
    fn drop(&mut self) {
        let _ = rustix::termios::tcsetattr(
            std::io::stdin(),
            rustix::termios::OptionalActions::Flush,
            &self.saved,
        );
    }
}

/// Elsewhere console's own key reading (raw console input) is all there is.
#[cfg(not(unix))]
struct EchoOff;

#[cfg(not(unix))]
impl EchoOff {
    fn new() -> anyhow::Result<EchoOff> {
        Ok(EchoOff)
    }
}

/// Lines to show under the prompt for what has been typed so far.
type Meter<'a> = dyn Fn(&str) -> Vec<String> + 'a;

/// The terminal on stderr: width, character set and the line editor.
struct Screen {
    term: Term,
    ascii: bool,
}

impl Screen {
    fn new(term: Term) -> Screen {
        if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
            console::set_colors_enabled_stderr(false);
        }
        Screen {
            term,
            ascii: !utf8_locale(),
        }
    }

    /// Usable columns: one less than the terminal so nothing wraps by itself.
    fn width(&self) -> usize {
        (self.term.size().1 as usize).saturating_sub(1).max(20)
    }

    fn line(&self, text: &str) -> anyhow::Result<()> {
        self.term
            .write_line(text)
            .context("cannot write to the terminal")
    }

    /// Word-wraps `text` to the terminal width.
    fn wrap(&self, text: &str, first: &str, rest: &str) -> Vec<String> {
        wrap(text, self.width(), first, rest)
    }

    fn ok_mark(&self) -> console::StyledObject<&'static str> {
        style(if self.ascii { "OK" } else { "✓" })
            .green()
            .for_stderr()
    }

    /// Ten cells, filled by score, coloured red, yellow or green.
    fn bar(&self, score: Option<u8>) -> String {
        const CELLS: usize = 10;
        let filled = score.map_or(0, |s| 2 * (usize::from(s.min(4)) + 1));
        let (full, empty) = if self.ascii {
            ("#", "-")
        } else {
            ("█", "░")
        };
        let body = full.repeat(filled);
        let rest = empty.repeat(CELLS - filled);
        let body = match score {
            Some(0 | 1) | None => style(body).red(),
            Some(2) => style(body).yellow(),
            Some(_) => style(body).green(),
        }
        .for_stderr();
        if self.ascii {
            format!("[{body}{rest}]")
        } else {
            format!("{body}{rest}")
        }
    }

    fn rejection(&self, verdict: &Verdict) -> anyhow::Result<()> {
        self.line(&format!(
            "{}",
            style("Not accepted:").red().bold().for_stderr()
        ))?;
        for v in verdict.violations() {
            self.wrapped(&v.message, "  - ", "    ")?;
        }
        if let Some(s) = verdict.strength() {
            if let Some(w) = &s.warning {
                self.wrapped(&format!("Warning: {w}"), "  ", "    ")?;
            }
            for sug in &s.suggestions {
                self.wrapped(&format!("Suggestion: {sug}"), "  ", "    ")?;
            }
        }
        Ok(())
    }

    /// A sentence or two, word-wrapped.
    fn say(&self, text: &str) -> anyhow::Result<()> {
        self.wrapped(text, "", "")
    }

    fn wrapped(&self, text: &str, first: &str, rest: &str) -> anyhow::Result<()> {
        for l in self.wrap(text, first, rest) {
            self.line(&l)?;
        }
        Ok(())
    }

    /// Reads one password without echo. With a `meter`, redraws the lines
    /// it returns under the prompt after every key. `None` when the person
    /// pressed Esc or Ctrl-C.
    fn read_password(
        &self,
        prompt: &str,
        meter: Option<&Meter<'_>>,
    ) -> anyhow::Result<Option<Password>> {
        let mut buf: Zeroizing<String> = Zeroizing::new(String::new());
        self.draw(prompt, &[])?;
        loop {
            let key = self
                .term
                .read_key_raw()
                .context("cannot read from the terminal")?;
            match key {
                Key::Enter => {
                    if buf.is_empty() {
                        continue;
                    }
                    self.draw(prompt, &[])?;
                    self.term
                        .write_line("")
                        .context("cannot write to the terminal")?;
                    return Ok(Some(Password::new(std::mem::take(&mut *buf))));
                }
                Key::Escape | Key::CtrlC => {
                    self.draw(prompt, &[])?;
                    self.term
                        .write_line("")
                        .context("cannot write to the terminal")?;
                    return Ok(None);
                }
                Key::Backspace => {
                    buf.pop();
                }
                // Ctrl-U: start again.
                Key::Char('\u{15}') => buf.clear(),
                Key::Char(c) if !c.is_control() && buf.len() < input::LINE_LIMIT => buf.push(c),
                _ => continue,
            }
            let lines = meter.map(|m| m(&buf)).unwrap_or_default();
            self.draw(prompt, &lines)?;
        }
    }

    /// Redraws the prompt line and `lines` under it, leaving the cursor at
    /// the end of the prompt. Every line is cut to the width so that none
    /// wraps and the cursor arithmetic holds on narrow terminals.
    fn draw(&self, prompt: &str, lines: &[String]) -> anyhow::Result<()> {
        let width = self.width();
        let mut frame = String::from("\r\x1b[J");
        frame.push_str(&console::truncate_str(prompt, width, ""));
        for l in lines {
            frame.push('\n');
            frame.push_str(&console::truncate_str(l, width, ""));
        }
        if !lines.is_empty() {
            frame.push_str(&format!("\x1b[{}A\r", lines.len()));
            let col = console::measure_text_width(prompt).min(width);
            if col > 0 {
                frame.push_str(&format!("\x1b[{col}C"));
            }
        }
        self.term
            .write_str(&frame)
            .context("cannot write to the terminal")?;
        self.term.flush().context("cannot write to the terminal")
    }
}

/// Word-wraps `text` to `width` columns, `first` before the first line and
/// `rest` before the others.
fn wrap(text: &str, width: usize, first: &str, rest: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut line = first.to_owned();
    let mut empty = true;
    for word in text.split_whitespace() {
        let need = console::measure_text_width(&line)
            + usize::from(!empty)
            + console::measure_text_width(word);
        if !empty && need > width {
            out.push(std::mem::replace(&mut line, rest.to_owned()));
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    if !empty || out.is_empty() {
        out.push(line);
    }
    out
}

/// `true` when the locale's character set is UTF-8 (LC_ALL, else LC_CTYPE,
/// else LANG); the C/POSIX locale and others get the ASCII bar.
fn utf8_locale() -> bool {
    ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .is_some_and(|v| {
            let v = v.to_ascii_lowercase();
            v.contains("utf-8") || v.contains("utf8")
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pwsentry::Policy;

    #[test]
    fn wrap_fits_the_width() {
        let text = "needs at least 1 symbol, such as @ or # and more words to wrap around";
        for l in wrap(text, 24, "  - ", "    ") {
            assert!(l.len() <= 24, "{l:?}");
        }
        assert_eq!(wrap("short", 40, "  - ", "    "), ["  - short"]);
        assert_eq!(
            wrap("abcdefghijklmnopqrstuvwxyz", 10, "", ""),
            ["abcdefghijklmnopqrstuvwxyz"]
        );
    }

    #[test]
    fn hints_are_plain_words_with_counts() {
        let checker = Checker::new(Policy::default());
        let verdict = checker.evaluate("abcde", &Context::new());
        let hints = live_hints(&checker, &verdict, "abcde");
        assert!(
            hints.contains(&"at least 8 characters: 3 more".to_owned()),
            "{hints:?}"
        );
        assert!(
            hints.contains(&"add a symbol such as @ or #".to_owned()),
            "{hints:?}"
        );
        assert!(hints.contains(&"add a digit".to_owned()), "{hints:?}");
        let strict =
            Checker::new(Policy::from_toml_str("[composition]\nmin_symbols = 3\n").unwrap());
        let verdict = strict.evaluate("ab#cdefgh1", &Context::new());
        let hints = live_hints(&strict, &verdict, "ab#cdefgh1");
        assert!(
            hints.contains(&"add 2 more symbols such as @ or #".to_owned()),
            "{hints:?}"
        );
    }
}
