//! `pwsentry policy init`: a few questions at the terminal (preset,
//! minimum length, symbols, maximum age, history depth, store location),
//! then a commented policy file, validated before it is written.
//!
//! It never overwrites a file without asking, writes atomically (a
//! temporary file beside the target, then a rename), and without a
//! terminal it refuses with a hint instead of guessing answers.

use super::render::coded;
use super::{EXIT_ABORTED, EXIT_OK, GlobalArgs};
use anyhow::Context as _;
use clap::Args;
use console::Term;
use dialoguer::theme::SimpleTheme;
use dialoguer::{Confirm, Input, Select};
use pwsentry::{Policy, Preset};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

/// Where `policy init` writes when given no file: the system policy that
/// every program reads when neither `--policy` nor `$PWSENTRY_POLICY` is set.
const SYSTEM_POLICY: &str = "/etc/pwsentry/policy.toml";

/// Arguments of `policy init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The file to write [default: asked, suggesting /etc/pwsentry/policy.toml]
    pub file: Option<PathBuf>,
}

/// The answers.
struct Answers {
    preset: Preset,
    min_length: u32,
    symbols: bool,
    max_age_days: u32,
    remember: u32,
    store: Option<String>,
}

pub fn run(g: &GlobalArgs, args: &InitArgs) -> anyhow::Result<u8> {
    let term = Term::stderr();
    if !std::io::stdin().is_terminal() || !term.is_term() {
        return Err(coded(
            "not_a_terminal",
            "policy init asks questions and needs a terminal (stdin and stderr); without one, start from the built-in policy: `pwsentry policy show > policy.toml`, edit it, then `pwsentry policy check policy.toml`",
        ));
    }
    let theme = SimpleTheme;
    let file = match &args.file {
        Some(f) => f.clone(),
        None => PathBuf::from(
            Input::<String>::with_theme(&theme)
                .with_prompt("Write the policy to")
                .default(SYSTEM_POLICY.to_owned())
                .interact_text_on(&term)
                .context("cannot read the answer")?,
        ),
    };
    if file.is_dir() {
        return Err(coded(
            "usage",
            format!("{} is a directory; give a file name", file.display()),
        ));
    }
    if file.exists() {
        let overwrite = Confirm::with_theme(&theme)
            .with_prompt(format!("{} exists. Replace it?", file.display()))
            .default(false)
            .interact_on_opt(&term)
            .context("cannot read the answer")?;
        if overwrite != Some(true) {
            term.write_line(&format!(
                "Nothing was written; {} is unchanged.",
                file.display()
            ))
            .context("cannot write to the terminal")?;
            return Ok(EXIT_ABORTED);
        }
    }
    let Some(answers) = ask(&term, &theme)? else {
        term.write_line("Cancelled; nothing was written.")
            .context("cannot write to the terminal")?;
        return Ok(EXIT_ABORTED);
    };
    let text = render(&answers);
    let base = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let policy = Policy::parse(&text, &file.display().to_string(), base)
        .context("the answers make an invalid policy; nothing was written")?;
    write_atomically(&file, &text)?;
    if g.json {
        println!(
            "{}",
            serde_json::json!({"written": true, "file": file.display().to_string(), "preset": policy.preset().name()})
        );
    }
    term.write_line(&format!(
        "Wrote {} (preset {}). It is valid; check it again after editing with `pwsentry policy check {}`.",
        file.display(),
        policy.preset(),
        file.display()
    ))
    .context("cannot write to the terminal")?;
    if file != Path::new(SYSTEM_POLICY) {
        term.write_line(&format!(
            "pwsentry reads it when given --policy {} or PWSENTRY_POLICY={}.",
            file.display(),
            file.display()
        ))
        .context("cannot write to the terminal")?;
    }
    Ok(EXIT_OK)
}

/// The questions; `None` when the person pressed Esc at a choice.
fn ask(term: &Term, theme: &SimpleTheme) -> anyhow::Result<Option<Answers>> {
    let read = "cannot read the answer";
    let presets = [
        (
            Preset::Seed,
            "seed: 8+ characters, a symbol, letters and digits, changed every 90 days",
        ),
        (
            Preset::Nist80063b,
            "nist-800-63b: 15+ characters, no composition rules, no forced rotation",
        ),
        (
            Preset::PciDss4,
            "pci-dss-4: 12+ characters, letters and digits, changed every 90 days",
        ),
    ];
    let Some(choice) = Select::with_theme(theme)
        .with_prompt("Start from which preset? (arrows, Enter)")
        .items(presets.iter().map(|(_, text)| *text))
        .default(0)
        .interact_on_opt(term)
        .context(read)?
    else {
        return Ok(None);
    };
    let preset = presets[choice].0;
    let base = Policy::from_preset(preset);
    let max_length = base.length().max;
    let min_length = Input::<u32>::with_theme(theme)
        .with_prompt(format!("Minimum length (1 to {max_length})"))
        .default(base.length().min)
        .validate_with(move |n: &u32| {
            if (1..=max_length).contains(n) {
                Ok(())
            } else {
                Err(format!("a number from 1 to {max_length}"))
            }
        })
        .interact_text_on(term)
        .context(read)?;
    let Some(symbols) = Confirm::with_theme(theme)
        .with_prompt("Require a symbol (like @ or #)?")
        .default(base.composition().min_symbols > 0)
        .interact_on_opt(term)
        .context(read)?
    else {
        return Ok(None);
    };
    let max_age_days = Input::<u32>::with_theme(theme)
        .with_prompt("Maximum password age in days (0: never expires)")
        .default(base.rotation().max_age_days)
        .validate_with(|n: &u32| {
            if *n <= 36_500 {
                Ok(())
            } else {
                Err("at most 36500 days")
            }
        })
        .interact_text_on(term)
        .context(read)?;
    let remember = Input::<u32>::with_theme(theme)
        .with_prompt("Earlier passwords that may not be used again (0 to 1000)")
        .default(base.history().remember)
        .validate_with(|n: &u32| {
            if *n <= 1000 {
                Ok(())
            } else {
                Err("at most 1000")
            }
        })
        .interact_text_on(term)
        .context(read)?;
    let store = Input::<String>::with_theme(theme)
        .with_prompt("History database (empty: the default location)")
        .allow_empty(true)
        .validate_with(|s: &String| {
            if s.chars().any(char::is_control) {
                Err("no control characters")
            } else {
                Ok(())
            }
        })
        .interact_text_on(term)
        .context(read)?;
    let store = Some(store.trim().to_owned()).filter(|s| !s.is_empty());
    Ok(Some(Answers {
        preset,
        min_length,
        symbols,
        max_age_days,
        remember,
        store,
    }))
}

/// The policy file for `a`: every answer as a key with a comment, the
/// rest left to the preset.
fn render(a: &Answers) -> String {
    let quoted = |s: &str| toml::Value::String(s.to_owned()).to_string();
    let base = Policy::from_preset(a.preset);
    // The warning window must be shorter than the maximum age.
    let warn_days = if a.max_age_days == 0 {
        0
    } else {
        base.rotation()
            .warn_days
            .min(a.max_age_days.saturating_sub(1))
    };
    let min_age_days = if a.max_age_days == 0 {
        base.rotation().min_age_days
    } else {
        base.rotation()
            .min_age_days
            .min(a.max_age_days.saturating_sub(1))
    };
    let mut text = format!(
        "# pwsentry policy, written by `pwsentry policy init`.\n\
         #\n\
         # Keys not given here take their value from `preset`; `pwsentry policy show`\n\
         # prints every key with its value, `pwsentry policy check FILE` validates.\n\
         \n\
         # Where the values not given below come from: \"seed\", \"nist-800-63b\"\n\
         # or \"pci-dss-4\".\n\
         preset = {preset}\n\
         \n\
         [length]\n\
         # Fewest characters a password may have.\n\
         min = {min}\n\
         \n\
         [composition]\n\
         # Fewest symbols (characters that are neither letters nor digits, such as\n\
         # @ # ! or a space); 0 for no rule.\n\
         min_symbols = {symbols}\n\
         \n\
         [rotation]\n\
         # Days a password may be used before it is stale (0: never).\n\
         max_age_days = {max_age}\n\
         # Days before that when it is reported as expiring.\n\
         warn_days = {warn_days}\n\
         # Days a new password must be kept before it may be changed again.\n\
         min_age_days = {min_age_days}\n\
         \n\
         [history]\n\
         # How many of the latest passwords, the current one included, may not be\n\
         # used again.\n\
         remember = {remember}\n",
        preset = quoted(a.preset.name()),
        min = a.min_length,
        symbols = u32::from(a.symbols),
        max_age = a.max_age_days,
        remember = a.remember,
    );
    if let Some(store) = &a.store {
        text.push_str(&format!(
            "\n[store]\n\
             # The history database every program using this policy shares\n\
             # (relative to this file's folder).\n\
             path = {}\n",
            quoted(store)
        ));
    }
    text
}

/// Writes `text` to a new file beside `path`, then renames it over `path`,
/// so that a reader sees the old file or the new one, never half of one.
fn write_atomically(path: &Path, text: &str) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "policy.toml".to_owned());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        // Readable by every program that checks passwords, writable by its
        // owner only, whatever the umask.
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o644);
        let mut f = options.open(&tmp)?;
        #[cfg(unix)]
        f.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644))?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(anyhow::Error::new(e).context(format!("cannot write {}", path.display())));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_and_edge_answer_renders_a_valid_policy() {
        for preset in Preset::ALL {
            for (max_age_days, remember) in [(0, 0), (1, 1), (7, 24), (90, 5), (36_500, 1000)] {
                let a = Answers {
                    preset,
                    min_length: 1,
                    symbols: preset == Preset::Seed,
                    max_age_days,
                    remember,
                    store: None,
                };
                let text = render(&a);
                let p = Policy::from_toml_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
                assert_eq!(p.preset(), preset);
                assert_eq!(p.length().min, 1);
                assert_eq!(p.rotation().max_age_days, max_age_days);
                assert_eq!(p.history().remember, remember);
                assert_eq!(p.composition().min_symbols, u32::from(a.symbols));
            }
        }
    }

    #[test]
    fn the_file_is_commented() {
        let text = render(&Answers {
            preset: Preset::Seed,
            min_length: 12,
            symbols: true,
            max_age_days: 90,
            remember: 5,
            store: None,
        });
        let comments = text.lines().filter(|l| l.starts_with('#')).count();
        let keys = text.lines().filter(|l| l.contains(" = ")).count();
        assert!(comments >= keys, "a comment for every key:\n{text}");
    }
}
