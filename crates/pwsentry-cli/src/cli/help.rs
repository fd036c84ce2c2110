//! The clap command as users see it: global options listed once (in
//! `pwsentry --help`) rather than repeated in every subcommand's help, and
//! argument errors as text or, under `--json`, as a JSON object.

use super::render;
use super::{Cli, EXIT_ERROR, EXIT_OK};
use clap::{CommandFactory, FromArgMatches};
use std::ffi::OsString;
use std::process::ExitCode;

/// Heading of the global options in `pwsentry --help`.
const GLOBAL_HEADING: &str = "Global options (before or after the command)";

/// Said at the end of every subcommand's help instead of repeating the
/// global options.
const GLOBAL_NOTE: &str =
    "Global options: --policy FILE, --db FILE, --now RFC3339, --json (see `pwsentry --help`).";

/// The full command definition with global options shown once.
///
/// clap copies `global = true` arguments into every subcommand (so they
/// parse anywhere on the command line) unless the subcommand already has
/// an argument of that id: each subcommand gets a hidden copy first.
pub fn command() -> clap::Command {
    let cmd = Cli::command().mut_args(|a| {
        if a.is_global_set() {
            a.help_heading(GLOBAL_HEADING)
        } else {
            a
        }
    });
    let hidden: Vec<clap::Arg> = cmd
        .get_arguments()
        .filter(|a| a.is_global_set())
        .map(|a| a.clone().hide(true))
        .collect();
    with_hidden_globals(cmd, &hidden, true)
}

fn with_hidden_globals(mut cmd: clap::Command, hidden: &[clap::Arg], top: bool) -> clap::Command {
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_owned())
        .collect();
    for name in names {
        cmd = cmd.mut_subcommand(name, |s| with_hidden_globals(s, hidden, false));
    }
    if top {
        return cmd;
    }
    cmd.args(hidden.iter().cloned()).after_help(GLOBAL_NOTE)
}

/// Parses `args` (the program name first).
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Cli, clap::Error> {
    let mut cmd = command();
    let matches = cmd.try_get_matches_from_mut(args)?;
    Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut cmd))
}

/// `true` when `--json` is among the options (before any `--`), so that
/// even an argument error can be reported as JSON.
pub fn wants_json(args: impl IntoIterator<Item = OsString>) -> bool {
    args.into_iter()
        .skip(1)
        .take_while(|a| a != "--")
        .any(|a| a == "--json")
}

/// Prints an argument error (or the help or version clap was asked for)
/// and returns the exit status: 0 for help and version, 2 otherwise.
pub fn usage_failure(e: &clap::Error, json: bool) -> ExitCode {
    if !e.use_stderr() {
        let _ = e.print();
        return ExitCode::from(EXIT_OK);
    }
    if json {
        use clap::error::ErrorKind;
        let text = e.render().to_string();
        let message = match e.kind() {
            // A word in the wrong place is as likely a password
            // (`pwsentry check hunter2`) as a typo: never repeat it.
            ErrorKind::UnknownArgument | ErrorKind::InvalidSubcommand => {
                "unexpected argument (not shown: it may be a password); passwords are read from standard input or the prompt, never from arguments"
            }
            _ => text
                .lines()
                .next()
                .unwrap_or("invalid arguments")
                .trim_start_matches("error: "),
        };
        eprintln!("{}", render::error_json("usage", message));
    } else {
        let _ = e.print();
    }
    ExitCode::from(EXIT_ERROR)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn help(args: &[&str]) -> String {
        match parse(args.iter().map(OsString::from)) {
            Err(e) => e.render().to_string(),
            Ok(_) => panic!("{args:?} did not print help"),
        }
    }

    #[test]
    fn global_options_are_listed_once() {
        let top = help(&["pwsentry", "--help"]);
        assert!(
            top.contains("--policy <FILE>") && top.contains(GLOBAL_HEADING),
            "{top}"
        );
        let check = help(&["pwsentry", "check", "--help"]);
        assert!(!check.contains("--policy <FILE>"), "{check}");
        assert!(
            check.contains("--batch") && check.contains(GLOBAL_NOTE),
            "{check}"
        );
        let show = help(&["pwsentry", "policy", "show", "--help"]);
        assert!(!show.contains("--db <FILE>"), "{show}");
    }

    #[test]
    fn global_options_still_parse_after_the_command() {
        let cli = parse(["pwsentry", "check", "--json", "--policy", "p.toml"].map(OsString::from))
            .unwrap();
        assert!(cli.global.json);
        assert_eq!(
            cli.global.policy.as_deref(),
            Some(std::path::Path::new("p.toml"))
        );
    }

    #[test]
    fn json_is_found_before_a_double_dash_only() {
        let args = |a: &[&str]| a.iter().map(OsString::from).collect::<Vec<_>>();
        assert!(wants_json(args(&["pwsentry", "check", "--json"])));
        assert!(!wants_json(args(&["pwsentry", "check", "--", "--json"])));
        assert!(
            !wants_json(args(&["--json", "check"])),
            "argv[0] is the program"
        );
    }

    #[test]
    fn the_command_is_consistent() {
        command().debug_assert();
    }
}
