//! `record`, `import`, `status`, `stale`, `forget`, and the history part of
//! `check --account`.

use super::GlobalArgs;
use clap::Args;
use pwsentry::{Password, Policy, Violation};

/// Arguments of `record`.
#[derive(Debug, Args)]
pub struct RecordArgs {
    /// The account whose password is being set
    #[arg(long, value_name = "ID")]
    pub account: String,
    /// Record even if the minimum age has not passed (administrators)
    #[arg(long)]
    pub force: bool,
}

/// Arguments of `import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The account the hashes belong to
    #[arg(long, value_name = "ID")]
    pub account: String,
    /// When the imported passwords were set, RFC 3339 [default: --now]
    #[arg(long, value_name = "RFC3339")]
    pub set_at: Option<String>,
}

/// Arguments of commands that take one account.
#[derive(Debug, Args)]
pub struct AccountArgs {
    /// The account
    #[arg(long, value_name = "ID")]
    pub account: String,
}

/// The history rules for one account, opened once for `check`.
pub struct HistoryCheck {}

impl HistoryCheck {
    /// `None` when there is no history to check against.
    pub fn open(_g: &GlobalArgs, _policy: &Policy, _account: &str) -> anyhow::Result<Option<HistoryCheck>> {
        Ok(None)
    }

    /// History violations of `password`.
    pub fn violations(&self, _password: &Password) -> anyhow::Result<Vec<Violation>> {
        Ok(Vec::new())
    }
}

pub fn record(_g: &GlobalArgs, _args: &RecordArgs) -> anyhow::Result<u8> {
    anyhow::bail!("record: not implemented yet")
}
pub fn import(_g: &GlobalArgs, _args: &ImportArgs) -> anyhow::Result<u8> {
    anyhow::bail!("import: not implemented yet")
}
pub fn status(_g: &GlobalArgs, _args: &AccountArgs) -> anyhow::Result<u8> {
    anyhow::bail!("status: not implemented yet")
}
pub fn stale(_g: &GlobalArgs) -> anyhow::Result<u8> {
    anyhow::bail!("stale: not implemented yet")
}
pub fn forget(_g: &GlobalArgs, _args: &AccountArgs) -> anyhow::Result<u8> {
    anyhow::bail!("forget: not implemented yet")
}
