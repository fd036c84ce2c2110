//! The mail server's credentials that `set` and `record` write an accepted
//! password into: `--passwd-file`, else the policy's `[mail] passwd_file`.
//!
//! The file is written before the history is (see
//! `Checker::change_with`): a password is never recorded that the mail
//! server does not use. With a passwd-file, `--verify-current` checks the
//! current password against the account's line there, the credential the
//! mail server really uses, instead of the history.

use anyhow::{Context as _, bail};
use clap::Args;
use pwsentry::mailhash::{self, MailHashParams};
use pwsentry::passwd_file::{PasswdFile, PasswdUpdate};
use pwsentry::{Password, Policy};
use std::path::PathBuf;

/// The options that name the passwd-file (shared by `set` and `record`).
#[derive(Debug, Args)]
pub struct MailArgs {
    /// Dovecot passwd-file to write the new password into (an {ARGON2ID}
    /// hash in the account's line) before recording it [default: the
    /// policy's `[mail] passwd_file`]
    #[arg(long, value_name = "FILE")]
    pub passwd_file: Option<PathBuf>,
    /// Add a line for an account the passwd-file does not have yet
    #[arg(long)]
    pub create: bool,
}

/// A passwd-file to write, checked before anyone types.
pub struct MailTarget {
    file: PasswdFile,
    create: bool,
    params: MailHashParams,
}

impl MailTarget {
    /// The passwd-file of `args` or the policy, if any, checked for
    /// `account`: readable, and holding the account's line unless
    /// `--create`.
    pub fn open(policy: &Policy, args: &MailArgs, account: &str) -> anyhow::Result<Option<Self>> {
        let Some(path) = args
            .passwd_file
            .clone()
            .or_else(|| policy.mail().passwd_file.clone())
        else {
            if args.create {
                bail!(
                    "--create adds a line to a passwd-file, but there is none: give --passwd-file or set [mail] passwd_file in the policy"
                );
            }
            return Ok(None);
        };
        let file = PasswdFile::new(&path).accounts(policy.accounts().clone());
        let field = file
            .password_field(account)
            .with_context(|| format!("cannot use the passwd-file {}", path.display()))?;
        if field.is_none() && !args.create {
            bail!(
                "{} has no line for {}; nothing was changed (--create adds one)",
                path.display(),
                pwsentry::account::escape(account)
            );
        }
        Ok(Some(MailTarget {
            file,
            create: args.create,
            params: MailHashParams::for_policy(policy),
        }))
    }

    /// `true` when `current` is the password in the account's line. An
    /// account without a line (`--create`) has no current password to
    /// verify: `false`.
    pub fn verify_current(&self, account: &str, current: &Password) -> anyhow::Result<bool> {
        let field = self.file.password_field(account)?;
        match field {
            Some(field) => mailhash::verify(&field, current).with_context(|| {
                format!(
                    "cannot verify the current password against {}",
                    self.file.path().display()
                )
            }),
            None => Ok(false),
        }
    }

    /// Writes `password`'s hash into the account's line (atomically, under
    /// the file's lock; every other byte kept).
    pub fn write(&self, account: &str, password: &Password) -> pwsentry::Result<PasswdUpdate> {
        let field = mailhash::dovecot_argon2id(password, &self.params)?;
        self.file.set_password(account, &field, self.create)
    }

    /// The file's path, for messages.
    pub fn path(&self) -> &std::path::Path {
        self.file.path()
    }
}
