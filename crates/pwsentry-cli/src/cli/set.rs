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

use super::input::{self, Line, Single};
use super::mail_target::{MailArgs, MailTarget};
use super::{EXIT_ABORTED, EXIT_OK, EXIT_REJECTED, GlobalArgs, history_cmds, render};
use anyhow::{Context as _, bail};
use clap::{Args, ValueEnum};
use console::{Key, Term, style};
use pwsentry::ChangeRequest;
use pwsentry::generate::{Generator, Style};
use pwsentry::history::{Change, CommitOutcome};
use pwsentry::mailhash::{MailHashParams, MailScheme};
use pwsentry::store::Store;
use pwsentry::{Checker, Context, Error, Password, Rule, Verdict};
use std::cell::Cell;
use std::io::{IsTerminal, Write};
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
    /// Ask for the current password first and verify it: the new one must
    /// not be based on it. Without a terminal, stdin gives two lines:
    /// the current password, then the new one
    #[arg(long)]
    pub verify_current: bool,
    #[command(flatten)]
    pub mail: MailArgs,
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
    let checker = Checker::new(g.load_policy()?);
    let account = history_cmds::check_account(checker.policy(), &args.account)?;
    // A `--now` in the future is refused before anyone types.
    g.write_time()?;
    let context = Context::new().account(account.as_str());
    // Opened (and created) before anyone types: a database that cannot be
    // written should fail now, not after a password was chosen.
    let store = history_cmds::open_store(g, checker.policy())?;
    let target = MailTarget::open(checker.policy(), &args.mail, account.as_str())?;
    let mut job = Job {
        g,
        args,
        checker: &checker,
        context: &context,
        store: &store,
        target,
        current: None,
        current_correct: Cell::new(None),
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
    /// The passwd-file the new password is written into, if any.
    target: Option<MailTarget>,
    /// The current password, with `--verify-current`.
    current: Option<Password>,
    /// Whether the passwd-file holds `current` (checked once).
    current_correct: Cell<Option<bool>>,
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
        let mut request =
            ChangeRequest::new(&self.args.account, password.expose(), self.g.write_time()?);
        if let Some(current) = &self.current {
            request = match &self.target {
                Some(target) => {
                    let correct = match self.current_correct.get() {
                        Some(c) => c,
                        None => {
                            let c = target.verify_current(&self.args.account, current)?;
                            self.current_correct.set(Some(c));
                            c
                        }
                    };
                    request.checked_current_password(current.expose(), correct)
                }
                None => request.current_password(current.expose()),
            };
        }
        let change = self.checker.evaluate_change(self.store, &request)?;
        Ok(change)
    }

    /// Hashes for `--print-hash` (first, so that a failure leaves nothing
    /// recorded), records, then prints the hash line or JSON.
    fn finish(&self, change: Change, password: &Password) -> anyhow::Result<Finished> {
        let verdict = change.verdict().clone();
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
        // The mail server's credential first: a password is never
        // recorded that the mail server does not use.
        if let Some(target) = &self.target {
            target
                .write(&self.args.account, password)
                .with_context(|| {
                    format!(
                        "cannot write {}; nothing was recorded",
                        target.path().display()
                    )
                })?;
            if !self.g.json {
                eprintln!("written to {}", target.path().display());
            }
        }
        if let Some(verdict) = self.record_new_password(change, password)? {
            if let Some(target) = &self.target {
                eprintln!(
                    "warning: the new password is in {} but another process recorded a password for this account meanwhile, which made this one unacceptable; check the account",
                    target.path().display()
                );
            }
            return Ok(Finished::RejectedMeanwhile(verdict));
        }
        let mut out = std::io::stdout().lock();
        if self.g.json {
            writeln!(out, "{}", self.json(Some(&verdict), true, hash.as_deref()))?;
        } else if let Some(hash) = hash {
            writeln!(out, "{hash}")?;
        }
        out.flush()?;
        Ok(Finished::Recorded)
    }

    /// The JSON object `set --json` prints once at the end: the verdict,
    /// `account`, `recorded`, and with `--print-hash` the `hash` (`null`
    /// when nothing was recorded). `verdict` is `None` when the prompt was
    /// cancelled before any password was checked.
    fn json(
        &self,
        verdict: Option<&Verdict>,
        recorded: bool,
        hash: Option<&str>,
    ) -> serde_json::Value {
        let mut v = match verdict {
            Some(verdict) => render::verdict_json(verdict),
            None => serde_json::json!({"accepted": serde_json::Value::Null}),
        };
        v["account"] = serde_json::json!(self.args.account);
        v["recorded"] = serde_json::json!(recorded);
        if self.args.print_hash.is_some() {
            v["hash"] = serde_json::json!(hash);
        }
        v
    }

    /// Prints the JSON of a run that recorded nothing (under `--json`).
    fn json_not_recorded(&self, verdict: Option<&Verdict>) -> anyhow::Result<()> {
        if self.g.json {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", self.json(verdict, false, None))?;
            out.flush()?;
        }
        Ok(())
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
    fn read_stdin(&mut self) -> anyhow::Result<u8> {
        let mut stdin = std::io::stdin().lock();
        if self.args.verify_current {
            self.current = Some(read_current(&mut stdin)?);
        }
        let password = match input::single_line(&mut stdin, "set takes the one new password")? {
            Single::Password(p) => p,
            Single::TooLong => {
                Password::new("x".repeat(self.checker.policy().length().max as usize + 1))
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
                    self.json_not_recorded(Some(&verdict))?;
                } else {
                    eprint!("{}", render::verdict_text(&verdict));
                    eprintln!("not recorded");
                }
                Ok(EXIT_REJECTED)
            }
        }
    }

    fn interactive(&mut self, screen: &Screen) -> anyhow::Result<u8> {
        let _echo_off = EchoOff::new()?;
        if self.args.verify_current {
            let Some(current) = screen.read_password("Current password: ", None)? else {
                let end = End::cancelled(None);
                if let Some(message) = &end.message {
                    screen.say(message)?;
                }
                self.json_not_recorded(None)?;
                return Ok(end.code);
            };
            self.current = Some(current);
        }
        screen.say(&format!(
            "New password for {}",
            style(&self.args.account).bold().for_stderr()
        ))?;
        screen.say(
            "Type it (nothing is shown) and press Enter, or type g and Enter to have one generated. Esc or Ctrl-C cancels.",
        )?;
        let mut shown = None;
        let end = match self.prompt(screen, &mut shown) {
            Ok(end) => end,
            Err(e) => {
                // Failing to record must not leave a generated password
                // on the screen either.
                if let Some(mark) = shown {
                    let _ = screen.erase_since(mark);
                }
                return Err(e);
            }
        };
        if let (false, Some(mark)) = (end.recorded, shown) {
            // Nothing was recorded: the password shown is of no use, and
            // must not stay on the screen or in its scrollback.
            screen.erase_since(mark)?;
            screen
                .say("The generated password was not recorded and is cleared from the screen.")?;
        }
        if let Some(message) = &end.message {
            screen.say(message)?;
        }
        if !end.recorded {
            self.json_not_recorded(end.verdict.as_ref())?;
        }
        Ok(end.code)
    }

    /// The prompt, the checks and the confirmation. `shown` is set to the
    /// screen line where a generated password was first shown.
    fn prompt(&self, screen: &Screen, shown: &mut Option<usize>) -> anyhow::Result<End> {
        let meter = |buf: &str| live_meter(self.checker, self.context, screen, buf);
        let mut tries = 0;
        let mut last: Option<Verdict> = None;
        while tries < MAX_TRIES {
            let Some(typed) = screen.read_password("New password: ", Some(&meter))? else {
                return Ok(End::cancelled(last));
            };
            let candidate = if typed.expose() == GENERATE_KEY {
                let mark = screen.lines_written();
                match self.generated(screen)? {
                    Some(p) => {
                        shown.get_or_insert(mark);
                        p
                    }
                    None => continue,
                }
            } else {
                typed
            };
            let change = self.evaluate(&candidate)?;
            if !change.verdict().accepted() {
                tries += 1;
                last = Some(change.verdict().clone());
                if let Some(why) = self.rejected(screen, change.verdict(), tries)? {
                    return Ok(End::not_recorded(last, why));
                }
                continue;
            }
            let verdict = change.verdict().clone();
            match self.confirm(screen, &candidate)? {
                Confirmed::Yes => {}
                Confirmed::Mismatch => {
                    return Ok(End::not_recorded(
                        Some(verdict),
                        "The entries did not match; nothing was recorded.",
                    ));
                }
                Confirmed::Aborted => return Ok(End::cancelled(Some(verdict))),
            }
            return match self.finish(change, &candidate)? {
                Finished::Recorded => {
                    let strength = verdict.score().map_or_else(String::new, |s| {
                        format!(" (strength {s}/4, {})", render::score_words(s))
                    });
                    screen.say(&format!(
                        "{} New password for {} recorded{strength}.",
                        screen.ok_mark(),
                        self.args.account
                    ))?;
                    Ok(End {
                        code: EXIT_OK,
                        recorded: true,
                        verdict: Some(verdict),
                        message: None,
                    })
                }
                Finished::RejectedMeanwhile(verdict) => {
                    screen.say("The history changed while you were typing:")?;
                    screen.rejection(&verdict)?;
                    Ok(End::not_recorded(Some(verdict), "Nothing was recorded."))
                }
            };
        }
        Ok(End::not_recorded(
            last,
            &format!("{MAX_TRIES} passwords were rejected; nothing was recorded."),
        ))
    }

    /// Shows why a password was rejected. `Some(message)` when trying
    /// again is pointless (the current password is too new to change): the
    /// last words of the run.
    fn rejected(
        &self,
        screen: &Screen,
        verdict: &Verdict,
        tries: u32,
    ) -> anyhow::Result<Option<&'static str>> {
        screen.rejection(verdict)?;
        if verdict.violates(Rule::CurrentPassword) {
            return Ok(Some(
                "The current password could not be verified; nothing was recorded.",
            ));
        }
        if verdict.violates(Rule::MinAge) {
            return Ok(Some(
                "The current password is too new to be changed yet; nothing was recorded.",
            ));
        }
        if tries < MAX_TRIES {
            let left = MAX_TRIES - tries;
            screen.say(&format!(
                "{left} {} left.",
                if left == 1 { "try" } else { "tries" }
            ))?;
        }
        Ok(None)
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

/// The first line of stdin under `--verify-current`: the current password.
pub(super) fn read_current(stdin: &mut impl std::io::BufRead) -> anyhow::Result<Password> {
    match input::read_line(stdin).context("cannot read stdin")? {
        Some(Line::Text(p)) => Ok(p),
        None => bail!(
            "--verify-current: stdin is empty; give the current password on the first line and the new one on the second"
        ),
        Some(Line::TooLong) => bail!("--verify-current: the current password (line 1) is too long"),
        Some(Line::InvalidUtf8 { offset }) => bail!(
            "--verify-current: the current password (line 1) is not valid UTF-8 (first invalid byte at offset {offset})"
        ),
    }
}

enum Confirmed {
    Yes,
    Mismatch,
    Aborted,
}

/// How an interactive `set` ended.
struct End {
    code: u8,
    recorded: bool,
    /// The last verdict, for `--json`.
    verdict: Option<Verdict>,
    /// Said last, after a generated password was cleared.
    message: Option<String>,
}

impl End {
    fn cancelled(verdict: Option<Verdict>) -> End {
        End {
            code: EXIT_ABORTED,
            recorded: false,
            verdict,
            message: Some("Cancelled; nothing was recorded.".to_owned()),
        }
    }

    fn not_recorded(verdict: Option<Verdict>, message: &str) -> End {
        End {
            code: EXIT_REJECTED,
            recorded: false,
            verdict,
            message: Some(message.to_owned()),
        }
    }
}

/// The meter under the prompt: a bar coloured by the verdict with the
/// score in words, the length, and every rule not yet met, in the same
/// words as the final verdict.
fn live_meter(checker: &Checker, context: &Context, screen: &Screen, buf: &str) -> Vec<String> {
    if buf.is_empty() {
        return Vec::new();
    }
    let verdict = checker.evaluate(buf, context);
    let mut lines = Vec::new();
    let bar = screen.bar(&verdict);
    let words = verdict.score().map_or("not scored", render::score_words);
    let score = verdict
        .score()
        .map_or_else(|| "-".to_owned(), |s| s.to_string());
    lines.push(format!("  {bar} {score}/4 {words}"));
    let chars = checker.policy().length().measure(buf);
    let noun = if chars == 1 {
        "character"
    } else {
        "characters"
    };
    if verdict.accepted() {
        lines.push(format!("  {chars} {noun}; meets the rules so far"));
    } else {
        lines.push(format!("  {chars} {noun}; not accepted yet:"));
        for v in verdict.violations() {
            lines.extend(screen.wrap(&v.message, "  - ", "    "));
        }
    }
    lines
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
    /// Lines written below the first prompt so far (each ends in a
    /// newline; the meter under the prompt is redrawn in place and does
    /// not count).
    lines: std::cell::Cell<usize>,
}

impl Screen {
    fn new(term: Term) -> Screen {
        if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
            console::set_colors_enabled_stderr(false);
        }
        Screen {
            term,
            ascii: !utf8_locale(),
            lines: std::cell::Cell::new(0),
        }
    }

    /// Usable columns: one less than the terminal so nothing wraps by itself.
    fn width(&self) -> usize {
        (self.term.size().1 as usize).saturating_sub(1).max(20)
    }

    /// Rows of the terminal.
    fn height(&self) -> usize {
        usize::from(self.term.size().0).max(2)
    }

    fn line(&self, text: &str) -> anyhow::Result<()> {
        self.lines.set(self.lines.get() + 1);
        self.term
            .write_line(text)
            .context("cannot write to the terminal")
    }

    /// How many lines were written so far.
    fn lines_written(&self) -> usize {
        self.lines.get()
    }

    /// Erases every line written since [`Screen::lines_written`] was
    /// `mark`: in place when they are all still on the screen, else the
    /// whole screen and its scrollback (ED 3), since some of them have
    /// scrolled out of reach of the cursor.
    fn erase_since(&self, mark: usize) -> anyhow::Result<()> {
        let n = self.lines.get().saturating_sub(mark);
        let codes = if n < self.height() {
            format!("\x1b[{n}A\r\x1b[J")
        } else {
            "\x1b[H\x1b[2J\x1b[3J".to_owned()
        };
        self.term
            .write_str(&codes)
            .and_then(|()| self.term.flush())
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

    /// Ten cells, filled by score, coloured by the verdict: green only
    /// when the password is accepted; otherwise red for a weak score and
    /// yellow for a fair one that still breaks a rule.
    fn bar(&self, verdict: &Verdict) -> String {
        let score = verdict.score();
        const CELLS: usize = 10;
        let filled = score.map_or(0, |s| 2 * (usize::from(s.min(4)) + 1));
        let (full, empty) = if self.ascii {
            ("#", "-")
        } else {
            ("█", "░")
        };
        let body = full.repeat(filled);
        let rest = empty.repeat(CELLS - filled);
        let body = match (verdict.accepted(), score) {
            (true, _) => style(body).green(),
            (false, Some(0 | 1) | None) => style(body).red(),
            (false, Some(_)) => style(body).yellow(),
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
                    self.line("")?;
                    return Ok(Some(Password::new(std::mem::take(&mut *buf))));
                }
                Key::Escape | Key::CtrlC => {
                    self.draw(prompt, &[])?;
                    self.line("")?;
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
    ///
    /// The prompt and the meter never take more rows than the terminal
    /// has: taller, every redraw would scroll the screen and push a copy
    /// of the meter into the scrollback. Cut lines end in "…".
    fn draw(&self, prompt: &str, lines: &[String]) -> anyhow::Result<()> {
        let width = self.width();
        let room = self.height() - 1;
        let cut;
        let lines = if lines.len() > room {
            let mut kept = lines[..room].to_vec();
            if let Some(last) = kept.last_mut() {
                *last = format!(
                    "{} …",
                    console::truncate_str(last, width.saturating_sub(2), "")
                );
            }
            cut = kept;
            &cut[..]
        } else {
            lines
        };
        // Each line is overwritten and then cleared to its end, and what is
        // left below is cleared from the end of the last one: never an
        // erase from the top-left corner, which some terminals (tmux) take
        // as clearing the screen and save to the scrollback.
        let mut frame = String::from("\r");
        frame.push_str(&console::truncate_str(prompt, width, ""));
        frame.push_str("\x1b[K");
        for l in lines {
            frame.push_str("\n\r");
            frame.push_str(&console::truncate_str(l, width, ""));
            frame.push_str("\x1b[K");
        }
        frame.push_str("\x1b[J");
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
    fn the_meter_uses_the_words_of_the_verdict() {
        let checker = Checker::new(Policy::default());
        let screen = Screen::new(Term::stderr());
        let context = Context::new();
        let lines = live_meter(&checker, &context, &screen, "abcde");
        let verdict = checker.evaluate("abcde", &context);
        assert!(
            lines[1].ends_with("5 characters; not accepted yet:"),
            "{lines:?}"
        );
        for v in verdict.violations() {
            assert!(
                lines.iter().any(|l| l.contains(&v.message)),
                "{:?} missing from {lines:?}",
                v.message
            );
        }
        let ok = live_meter(&checker, &context, &screen, "Velvet#Orbit#Canyon42");
        assert!(ok[1].ends_with("meets the rules so far"), "{ok:?}");
    }
}
