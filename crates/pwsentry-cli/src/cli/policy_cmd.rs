//! `pwsentry policy show|check|init`.

use super::{EXIT_OK, GlobalArgs, policy_init};
use anyhow::Context as _;
use clap::{Args, Subcommand};
use pwsentry::Policy;
use std::path::PathBuf;

/// Arguments of `policy`.
#[derive(Debug, Args)]
pub struct PolicyArgs {
    #[command(subcommand)]
    pub action: PolicyAction,
}

/// What to do with the policy.
#[derive(Debug, Subcommand)]
pub enum PolicyAction {
    /// Print the effective policy (preset merged) as TOML
    Show,
    /// Validate a policy file (default: the one that applies); exit 78 if invalid
    Check {
        /// The file to validate
        file: Option<PathBuf>,
    },
    /// Write a commented policy file by answering a few questions (needs a terminal)
    Init(policy_init::InitArgs),
}

pub fn run(g: &GlobalArgs, args: &PolicyArgs) -> anyhow::Result<u8> {
    match &args.action {
        PolicyAction::Show => {
            let policy = g.load_policy()?;
            let origin = policy
                .source()
                .map_or("built-in default".to_owned(), |p| p.display().to_string());
            if g.json {
                // The same keys and values as the TOML, as one JSON object.
                let table: toml::Table = toml::from_str(&policy.to_toml())
                    .context("cannot render the policy as JSON")?;
                println!(
                    "{}",
                    serde_json::json!({
                        "file": policy.source().map(|p| p.display().to_string()),
                        "preset": policy.preset().name(),
                        "policy": table,
                    })
                );
            } else {
                print!("# effective policy (from {origin})\n{}", policy.to_toml());
            }
        }
        PolicyAction::Init(args) => return policy_init::run(g, args),
        PolicyAction::Check { file } => {
            let (policy, origin) = match file.clone().or_else(|| g.policy_path()) {
                Some(path) => (Policy::from_file(&path)?, path.display().to_string()),
                None => (Policy::default(), "built-in default".to_owned()),
            };
            super::notify_cmd::check_policy(&policy, &origin)?;
            // The filter's header (format, version, checksum, length) was
            // checked when the policy loaded; say so, and warn when the
            // NIST preset has no breached-password filter to compare with.
            if let Some(filter) = policy.breach_filter() {
                eprintln!(
                    "breach filter {}: valid ({} entries)",
                    filter.path().display(),
                    filter.header().entry_count
                );
            } else if policy.preset() == pwsentry::Preset::Nist80063b {
                eprintln!(
                    "warning: preset nist-800-63b without a [breach] filter: NIST SP 800-63B asks for a comparison with breached passwords; build one with `pwsentry breach build` (see docs/breach.md)"
                );
            }
            if g.json {
                println!(
                    "{}",
                    serde_json::json!({"valid": true, "file": origin, "preset": policy.preset().name()})
                );
            } else {
                println!("{origin}: valid (preset {})", policy.preset());
            }
        }
    }
    Ok(EXIT_OK)
}
