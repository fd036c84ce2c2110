//! `pwsentry man`: the man page, made from the clap definitions (so the
//! options never drift from the real ones) plus the sections clap does not
//! know: every command with its options, EXIT STATUS, FILES, ENVIRONMENT
//! and EXAMPLES. One page, `pwsentry(1)`: it names no other page, since
//! none is installed with it.

use super::{Cli, EXIT_OK, GlobalArgs};
use anyhow::Context as _;
use clap::{Args, CommandFactory};
use std::path::PathBuf;

/// Arguments of `man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write pwsentry.1 into this folder (for packagers) instead of printing it
    #[arg(long, value_name = "DIR")]
    pub output: Option<PathBuf>,
}

/// The sections after the commands, in roff.
const TAIL: &str = r#".SH "EXIT STATUS"
.TP
\fB0\fR
The password was accepted; nothing is stale; the command succeeded.
.TP
\fB1\fR
The password was rejected (or not recorded); an account is stale.
.TP
\fB2\fR
Usage or runtime error: bad arguments, empty or unreadable standard input,
an unreadable or busy history database.
.TP
\fB78\fR
The policy or another configuration file is invalid (EX_CONFIG).
.TP
\fB130\fR
An interactive prompt was cancelled (Esc, Ctrl\-C, or a "no").
.PP
With \fB\-\-json\fR, an error is one line of JSON on standard error:
\fB{"error":{"code":"usage","message":"..."}}\fR; the codes are stable
(usage, invalid_policy, invalid_input, not_a_terminal, io, store,
store_busy, invalid_hash, invalid_time, cannot_generate, error).
.SH FILES
.TP
\fI/etc/pwsentry/policy.toml\fR
The system policy, read when neither \fB\-\-policy\fR nor
\fBPWSENTRY_POLICY\fR names one. Without it the built\-in policy applies.
The current directory is never searched.
.TP
\fI/var/lib/pwsentry/history.db\fR
The password history when running as root and no other location is
configured.
.TP
\fI$XDG_DATA_HOME/pwsentry/history.db\fR
The password history otherwise (\fI~/.local/share/pwsentry/history.db\fR
when \fBXDG_DATA_HOME\fR is unset). It holds argon2id hashes only.
.SH ENVIRONMENT
.TP
\fBPWSENTRY_POLICY\fR
The policy file, when \fB\-\-policy\fR is not given.
.TP
\fBPWSENTRY_DB\fR
The history database, when \fB\-\-db\fR is not given.
.TP
\fBXDG_DATA_HOME\fR, \fBHOME\fR
Where the default history database lives.
.TP
\fBNO_COLOR\fR
When set and not empty, \fBset\fR prints no colours.
.TP
\fBLANG\fR, \fBLC_ALL\fR, \fBLC_CTYPE\fR
Without a UTF\-8 locale, \fBset\fR draws its meter in ASCII.
.SH EXAMPLES
Check a password typed at a masked prompt, or piped on standard input
(never on the command line):
.PP
.RS
.nf
pwsentry check
printf '%s\en' "$candidate" | pwsentry \-\-json check \-\-account alice@example.com
.fi
.RE
.PP
Check a file of candidates, one per line, as JSON lines:
.PP
.RS
.nf
pwsentry \-\-json check \-\-batch < candidates.txt
.fi
.RE
.PP
Choose a new password with the live meter, record it, and print a
Dovecot hash of it:
.PP
.RS
.nf
pwsentry set \-\-account alice@example.com \-\-print\-hash dovecot
.fi
.RE
.PP
Report stale passwords from cron (exit status 1 when one is stale):
.PP
.RS
.nf
pwsentry \-\-policy /etc/pwsentry/policy.toml stale
.fi
.RE
.PP
Mail expiry reminders from cron (the policy's [notify] section and
[rotation] remind_days; each reminder is sent once):
.PP
.RS
.nf
pwsentry \-\-policy /etc/pwsentry/policy.toml notify \-\-dry\-run
pwsentry \-\-policy /etc/pwsentry/policy.toml notify
.fi
.RE
.PP
Write a policy by answering questions, then validate it:
.PP
.RS
.nf
pwsentry policy init /etc/pwsentry/policy.toml
pwsentry policy check /etc/pwsentry/policy.toml
.fi
.RE
.PP
Install the man page and completions (packagers):
.PP
.RS
.nf
pwsentry man \-\-output /usr/share/man/man1
pwsentry completions bash \-\-output /usr/share/bash\-completion/completions
.fi
.RE
"#;

/// The whole man page, in roff.
pub fn page() -> anyhow::Result<Vec<u8>> {
    let cmd = Cli::command();
    let man = clap_mangen::Man::new(cmd.clone());
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_options_section(&mut out)?;
    out.extend_from_slice(commands(&cmd).as_bytes());
    out.extend_from_slice(TAIL.as_bytes());
    man.render_version_section(&mut out)?;
    Ok(out)
}

pub fn run(g: &GlobalArgs, args: &ManArgs) -> anyhow::Result<u8> {
    let page = page().context("cannot render the man page")?;
    match &args.output {
        Some(dir) => {
            let path = dir.join("pwsentry.1");
            std::fs::write(&path, &page)
                .with_context(|| format!("cannot write {}", path.display()))?;
            super::generate_cmd::print_written(g, &path);
            Ok(EXIT_OK)
        }
        None => super::generate_cmd::write_stdout(&page).context("cannot write the man page"),
    }
}

/// The COMMANDS section: every command (and `policy`'s subcommands) with
/// its own options; the global ones are under OPTIONS.
fn commands(cmd: &clap::Command) -> String {
    let mut out = String::from(".SH COMMANDS\n");
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        command(&mut out, &format!("pwsentry {}", sub.get_name()), sub);
    }
    out
}

fn command(out: &mut String, path: &str, cmd: &clap::Command) {
    if cmd.has_subcommands() {
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            command(out, &format!("{path} {}", sub.get_name()), sub);
        }
        return;
    }
    let args: Vec<&clap::Arg> = cmd
        .get_arguments()
        .filter(|a| !a.is_hide_set() && !a.is_global_set())
        .filter(|a| !matches!(a.get_action(), clap::ArgAction::Help))
        .collect();
    let mut usage = path.to_owned();
    for a in &args {
        usage.push(' ');
        usage.push_str(&synopsis(a));
    }
    out.push_str(&format!(
        ".SS \"{}\"\n",
        escape(&usage).replace('"', "\\(dq")
    ));
    if let Some(about) = cmd.get_long_about().or(cmd.get_about()) {
        out.push_str(&format!("{}\n", escape(&about.to_string())));
    }
    for a in args {
        out.push_str(&format!(".TP\n\\fB{}\\fR\n", escape(&name(a))));
        if let Some(help) = a.get_long_help().or(a.get_help()) {
            out.push_str(&format!("{}\n", escape(&help.to_string())));
        }
        let values: Vec<String> = a
            .get_possible_values()
            .iter()
            .filter(|v| !v.is_hide_set())
            .map(|v| v.get_name().to_owned())
            .collect();
        if !values.is_empty() && a.get_action().takes_values() {
            out.push_str(&format!("One of: {}.\n", escape(&values.join(", "))));
        }
    }
}

/// `--account ID`, `FILE`, `--batch`.
fn name(a: &clap::Arg) -> String {
    let value = a
        .get_value_names()
        .and_then(|v| v.first())
        .map(ToString::to_string)
        .unwrap_or_else(|| a.get_id().to_string().to_uppercase());
    match a.get_long() {
        Some(long) if a.get_action().takes_values() => format!("--{long} {value}"),
        Some(long) => format!("--{long}"),
        None => value,
    }
}

fn synopsis(a: &clap::Arg) -> String {
    let n = name(a);
    if a.is_required_set() {
        n
    } else {
        format!("[{n}]")
    }
}

/// Text made safe for roff: backslashes, hyphens (so they are not turned
/// into dashes) and lines starting with a control character.
fn escape(text: &str) -> String {
    text.lines()
        .map(|l| {
            let l = l.replace('\\', "\\e").replace('-', "\\-");
            if l.starts_with('.') || l.starts_with('\'') {
                format!("\\&{l}")
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_and_section_is_there() {
        let page = String::from_utf8(page().unwrap()).unwrap();
        for section in [
            ".SH NAME",
            ".SH SYNOPSIS",
            ".SH OPTIONS",
            ".SH COMMANDS",
            ".SH \"EXIT STATUS\"",
            ".SH FILES",
            ".SH ENVIRONMENT",
            ".SH EXAMPLES",
        ] {
            assert!(page.contains(section), "{section} missing");
        }
        for cmd in Cli::command().get_subcommands() {
            assert!(
                page.contains(&format!(".SS \"pwsentry {}", cmd.get_name())),
                "{} missing",
                cmd.get_name()
            );
        }
        assert!(
            page.contains(".SS \"pwsentry policy init [FILE]\""),
            "nested commands"
        );
        assert!(
            page.contains("\\fB\\-\\-account ID\\fR"),
            "options with values"
        );
    }

    #[test]
    fn roff_escaping() {
        assert_eq!(escape(".x -y \\z"), "\\&.x \\-y \\ez");
    }
}
