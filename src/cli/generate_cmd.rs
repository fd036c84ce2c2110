//! `pwsentry generate`, `completions`, `man` (being written).

use super::GlobalArgs;
use clap::Args;

/// Arguments of `generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {}

/// Arguments of `completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {}

pub fn run(_g: &GlobalArgs, _args: &GenerateArgs) -> anyhow::Result<u8> {
    anyhow::bail!("generate: not implemented yet")
}
pub fn completions(_args: &CompletionsArgs) -> anyhow::Result<u8> {
    anyhow::bail!("completions: not implemented yet")
}
pub fn man() -> anyhow::Result<u8> {
    anyhow::bail!("man: not implemented yet")
}
