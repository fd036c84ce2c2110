//! `pwsentry set`: the interactive prompt (being written).

use super::GlobalArgs;
use clap::Args;

/// Arguments of `set`.
#[derive(Debug, Args)]
pub struct SetArgs {
    /// The account whose password is being set
    #[arg(long, value_name = "ID")]
    pub account: String,
}

pub fn run(_g: &GlobalArgs, _args: &SetArgs) -> anyhow::Result<u8> {
    anyhow::bail!("set: not implemented yet")
}
