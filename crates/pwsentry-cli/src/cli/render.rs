//! Turning results into text and JSON. Never given a password.

use pwsentry::Verdict;
use serde_json::{Value, json};

/// A verdict as the JSON object documented in the README.
pub fn verdict_json(v: &Verdict) -> Value {
    let s = v.strength();
    json!({
        "accepted": v.accepted(),
        "score": s.map(|s| s.score),
        "guesses_log10": s.map(|s| (s.guesses_log10 * 100.0).round() / 100.0),
        "violations": v.violations().iter().map(|x| json!({"rule": x.rule.code(), "message": x.message})).collect::<Vec<_>>(),
        "warning": s.and_then(|s| s.warning.clone()),
        "suggestions": s.map(|s| s.suggestions.clone()).unwrap_or_default(),
        "bounded": s.is_some_and(|s| s.bounded),
    })
}

/// The multi-line text form for a single check.
pub fn verdict_text(v: &Verdict) -> String {
    let mut out = String::new();
    let head = if v.accepted() { "accepted" } else { "rejected" };
    match v.strength() {
        Some(s) => out.push_str(&format!(
            "{head}: strength {}/4 ({}), about 10^{:.1} guesses\n",
            s.score,
            score_words(s.score),
            s.guesses_log10
        )),
        None => out.push_str(&format!("{head}: not scored\n")),
    }
    for x in v.violations() {
        out.push_str(&format!("  - {}: {}\n", x.rule, x.message));
    }
    if let Some(s) = v.strength()
        && !v.accepted()
    {
        if let Some(w) = &s.warning {
            out.push_str(&format!("  warning: {w}\n"));
        }
        for sug in &s.suggestions {
            out.push_str(&format!("  suggestion: {sug}\n"));
        }
    }
    out
}

/// One line per result for `--batch` text output.
pub fn verdict_line(v: &Verdict) -> String {
    let head = if v.accepted() { "accepted" } else { "rejected" };
    let score = v.score().map_or("-".to_owned(), |s| s.to_string());
    let rules: Vec<&str> = v.violations().iter().map(|x| x.rule.code()).collect();
    if rules.is_empty() {
        format!("{head}\tscore={score}")
    } else {
        format!("{head}\tscore={score}\t{}", rules.join(","))
    }
}

pub use pwsentry::strength::score_words;

/// An error and its causes on one line, each cause once.
pub fn error_chain(err: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
    }
    parts.join(": ")
}

/// An error the command line itself raises, with its stable code (see
/// `docs/cli.md`, "Error codes").
#[derive(Debug)]
pub struct CliError {
    /// The stable snake_case code, e.g. `"usage"`.
    pub code: &'static str,
    /// What went wrong and what to do, in plain words.
    pub message: String,
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

/// A usage error (exit 2, code `usage`): the command was called wrongly.
pub fn usage(message: impl Into<String>) -> anyhow::Error {
    coded("usage", message)
}

/// An error with the stable `code`.
pub fn coded(code: &'static str, message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(CliError {
        code,
        message: message.into(),
    })
}

/// The stable code of an error: the first cause in the chain that has one.
pub fn error_code(err: &anyhow::Error) -> &'static str {
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<CliError>() {
            return e.code;
        }
        if cause.downcast_ref::<pwsentry::PolicyError>().is_some() {
            return "invalid_policy";
        }
        if let Some(e) = cause.downcast_ref::<pwsentry::Error>() {
            return library_error_code(e);
        }
        if cause
            .downcast_ref::<pwsentry::generate::GenerateError>()
            .is_some()
        {
            return "cannot_generate";
        }
        if cause.downcast_ref::<clap::Error>().is_some() {
            return "usage";
        }
        if cause.downcast_ref::<std::io::Error>().is_some() {
            return "io";
        }
    }
    "error"
}

fn library_error_code(e: &pwsentry::Error) -> &'static str {
    use pwsentry::Error;
    match e {
        Error::Policy(_) => "invalid_policy",
        Error::Io { .. } => "io",
        Error::Store(_) => "store",
        Error::Busy => "store_busy",
        Error::Hash(_) => "invalid_hash",
        Error::Time(_) => "invalid_time",
        _ => "error",
    }
}

/// The JSON form of an error, for stderr under `--json`:
/// `{"error":{"code":"…","message":"…"}}`.
pub fn error_json(code: &str, message: &str) -> Value {
    json!({"error": {"code": code, "message": message}})
}

/// Prints `err` once on stderr: `pwsentry: error: …`, or with `--json` the
/// JSON object of [`error_json`] on one line.
pub fn print_error(err: &anyhow::Error, json: bool) {
    let message = error_chain(err);
    if json {
        eprintln!("{}", error_json(error_code(err), &message));
    } else {
        eprintln!("pwsentry: error: {message}");
    }
}
