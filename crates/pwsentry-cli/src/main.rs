//! The `pwsentry` command: a thin layer over the library that reads input,
//! prints results and maps outcomes to exit codes. It is the only part of
//! pwsentry that prints, reads the clock or the environment.
#![deny(unsafe_code)]

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
