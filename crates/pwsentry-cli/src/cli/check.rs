//! `pwsentry check`: evaluate one password, or one per line with `--batch`.

use super::input::{self, Line, Single};
use super::{EXIT_ERROR, EXIT_OK, EXIT_REJECTED, GlobalArgs, history_cmds, render};
use anyhow::Context as _;
use clap::Args;
use pwsentry::{Checker, Context, Password, Verdict};
use rayon::prelude::*;
use std::io::{BufRead, Write};

/// Arguments of `check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The account the password is for: its parts are context words, and its
    /// history (reuse, near reuse, minimum age) is checked
    #[arg(long, value_name = "ID")]
    pub account: Option<String>,
    /// A word the password must not contain (name, service, ...); repeatable
    #[arg(long = "user-input", value_name = "WORD")]
    pub user_inputs: Vec<String>,
    /// Check one password per line of stdin, printing one result per line
    #[arg(long)]
    pub batch: bool,
}

/// Lines evaluated together in `--batch` mode: big enough to keep every core
/// busy, small enough to stream.
const BATCH_CHUNK: usize = 2048;

pub fn run(g: &GlobalArgs, args: &CheckArgs) -> anyhow::Result<u8> {
    let checker = Checker::new(g.load_policy()?);
    let mut context = Context::new();
    if let Some(a) = &args.account {
        context = context.account(a.clone());
    }
    for w in &args.user_inputs {
        context = context.user_input(w.clone());
    }
    let history = match &args.account {
        Some(account) => history_cmds::HistoryCheck::open(g, &checker, account, &args.user_inputs)?,
        None => None,
    };
    let judge = |p: &Password| -> anyhow::Result<Verdict> {
        match &history {
            Some(h) => h.verdict(p),
            None => Ok(checker.evaluate(p.expose(), &context)),
        }
    };
    if args.batch {
        return batch(g, &checker, &judge);
    }
    let verdict = match input::read_single(
        "Password to check: ",
        "use --batch to check one password per line",
    )? {
        Single::Password(p) => judge(&p)?,
        Single::TooLong => checker.evaluate(&too_long_marker(&checker), &context),
    };
    let mut out = std::io::stdout().lock();
    if g.json {
        writeln!(out, "{}", render::verdict_json(&verdict))?;
    } else {
        write!(out, "{}", render::verdict_text(&verdict))?;
    }
    Ok(if verdict.accepted() {
        EXIT_OK
    } else {
        EXIT_REJECTED
    })
}

/// A stand-in for a line too long to keep: any string over the maximum gets
/// the same `max_length` verdict without being scored.
fn too_long_marker(checker: &Checker) -> String {
    "x".repeat(checker.policy().length().max as usize + 1)
}

enum Outcome {
    Verdict(Verdict),
    /// The error's stable code and message.
    Error(&'static str, String),
}

fn batch(
    g: &GlobalArgs,
    checker: &Checker,
    judge: &(dyn Fn(&Password) -> anyhow::Result<Verdict> + Sync),
) -> anyhow::Result<u8> {
    let stdin = std::io::stdin();
    let mut reader = stdin.lock();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let too_long = Password::new(too_long_marker(checker));
    let (mut any_rejected, mut any_error) = (false, false);
    let mut line_no = 0usize;
    loop {
        let chunk = read_chunk(&mut reader)?;
        if chunk.is_empty() {
            break;
        }
        let first = line_no;
        line_no += chunk.len();
        let results: Vec<Outcome> = chunk
            .par_iter()
            .enumerate()
            .map(|(i, line)| match line {
                Line::Text(p) => judge(p).map_or_else(
                    |e| {
                        let msg = format!("line {}: {}", first + i + 1, render::error_chain(&e));
                        Outcome::Error(render::error_code(&e), msg)
                    },
                    Outcome::Verdict,
                ),
                Line::TooLong => judge(&too_long).map_or_else(
                    |e| {
                        let msg = format!("line {}: {}", first + i + 1, render::error_chain(&e));
                        Outcome::Error(render::error_code(&e), msg)
                    },
                    Outcome::Verdict,
                ),
                Line::InvalidUtf8 { offset } => Outcome::Error(
                    "invalid_input",
                    format!(
                        "line {} is not valid UTF-8 (first invalid byte at offset {offset})",
                        first + i + 1
                    ),
                ),
            })
            .collect();
        for r in results {
            match r {
                Outcome::Verdict(v) => {
                    any_rejected |= !v.accepted();
                    if g.json {
                        writeln!(out, "{}", render::verdict_json(&v))?;
                    } else {
                        writeln!(out, "{}", render::verdict_line(&v))?;
                    }
                }
                Outcome::Error(code, msg) => {
                    any_error = true;
                    if g.json {
                        // In place of the verdict, so that line N of the
                        // output is still the result of line N.
                        let mut v = render::error_json(code, &msg);
                        v["accepted"] = serde_json::Value::Bool(false);
                        writeln!(out, "{v}")?;
                    } else {
                        writeln!(out, "error\t{msg}")?;
                    }
                }
            }
        }
        out.flush()?;
    }
    Ok(if any_error {
        EXIT_ERROR
    } else if any_rejected {
        EXIT_REJECTED
    } else {
        EXIT_OK
    })
}

fn read_chunk(reader: &mut impl BufRead) -> anyhow::Result<Vec<Line>> {
    let mut chunk = Vec::with_capacity(BATCH_CHUNK);
    while chunk.len() < BATCH_CHUNK {
        match input::read_line(reader).context("cannot read stdin")? {
            Some(line) => chunk.push(line),
            None => break,
        }
    }
    Ok(chunk)
}
