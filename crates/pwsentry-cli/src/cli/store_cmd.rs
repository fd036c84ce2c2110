//! Which store a location names (an SQLite file, or a PostgreSQL URL), and
//! the `store migrate` and `store copy` commands.
//!
//! A location is a `postgres://` / `postgresql://` URL or else a path. The
//! URL's password may come from `$PGPASSWORD` instead of the URL (so it
//! stays out of argv); it is never printed, not even in an error.

use super::{EXIT_OK, GlobalArgs};
use anyhow::{Context as _, bail};
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use pwsentry::store::{
    AccountHistory, Append, OpenOptions, ReminderDays, ReminderVisit, SqliteStore, Store,
};
use pwsentry::{Error, Policy};
use serde_json::json;
use std::io::Write;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

/// Arguments of `store`.
#[derive(Debug, Args)]
pub struct StoreArgs {
    #[command(subcommand)]
    pub command: StoreCommand,
}

/// `store` subcommands.
#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Create the history store at --db, or bring its schema up to date
    Migrate,
    /// Copy every account, salt and entry from one store into an empty one (all or nothing)
    Copy(CopyArgs),
}

/// Arguments of `store copy`.
#[derive(Debug, Args)]
pub struct CopyArgs {
    /// The store to read: an SQLite file or a postgres:// URL
    #[arg(long, value_name = "FILE|URL")]
    pub from: PathBuf,
    /// The store to fill (created if needed; must hold no account): a file or a URL
    #[arg(long, value_name = "FILE|URL")]
    pub to: PathBuf,
}

/// Where a history store is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// An SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL URL.
    Postgres(String),
}

impl Location {
    /// A `postgres://` or `postgresql://` URL (scheme in any case) is
    /// PostgreSQL; anything else that looks like a URL (`scheme://…`,
    /// SQLite's `file:` URIs) is refused rather than taken as a path, since
    /// whoever wrote it meant a store elsewhere; anything else is a path.
    pub fn parse(raw: &Path) -> anyhow::Result<Location> {
        let Some(s) = raw.to_str() else {
            return Ok(Location::Sqlite(raw.to_owned()));
        };
        if let Some((scheme, rest)) = s.split_once("://")
            && is_url_scheme(scheme)
        {
            if pwsentry::policy::STORE_URL_SCHEMES
                .iter()
                .any(|known| scheme.eq_ignore_ascii_case(known))
            {
                // Schemes are case-insensitive (RFC 3986); the client is not.
                let scheme = scheme.to_ascii_lowercase();
                return Ok(Location::Postgres(format!("{scheme}://{rest}")));
            }
            bail!(
                "the history store `{scheme}://…` is not a supported URL (postgres:// or postgresql://, or an SQLite file's path; a file whose name looks like a URL can be given as ./{scheme}:…)"
            );
        }
        if s.get(..5).is_some_and(|p| p.eq_ignore_ascii_case("file:")) {
            bail!(
                "the history store `file:…` is an SQLite URI, which pwsentry does not take: give the file's path (a file whose name starts with file: can be given as ./file:…)"
            );
        }
        Ok(Location::Sqlite(raw.to_owned()))
    }
}

/// `true` for an RFC 3986 scheme: a letter, then letters, digits, `+`, `-`, `.`.
fn is_url_scheme(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// An open store of either kind.
pub enum AnyStore {
    /// An SQLite file.
    Sqlite(SqliteStore),
    /// A PostgreSQL database.
    #[cfg(feature = "postgres")]
    Postgres(pwsentry::store::PostgresStore),
}

impl AnyStore {
    fn as_store(&self) -> &dyn Store {
        match self {
            AnyStore::Sqlite(s) => s,
            #[cfg(feature = "postgres")]
            AnyStore::Postgres(s) => s,
        }
    }

    /// Where it is, without any password.
    pub fn describe(&self) -> String {
        match self {
            AnyStore::Sqlite(s) => s.path().display().to_string(),
            #[cfg(feature = "postgres")]
            AnyStore::Postgres(s) => s.location().to_owned(),
        }
    }

    fn load_from(&self, source: &dyn Store) -> pwsentry::Result<(u64, u64)> {
        match self {
            AnyStore::Sqlite(s) => s.load_from(source),
            #[cfg(feature = "postgres")]
            AnyStore::Postgres(s) => s.load_from(source),
        }
    }
}

impl Store for AnyStore {
    fn history(&self, account: &str) -> pwsentry::Result<Option<AccountHistory>> {
        self.as_store().history(account)
    }
    fn append(&self, account: &str, append: &Append<'_>) -> pwsentry::Result<()> {
        self.as_store().append(account, append)
    }
    fn forget(&self, account: &str) -> pwsentry::Result<bool> {
        self.as_store().forget(account)
    }
    fn visit_changed_before(
        &self,
        cutoff: DateTime<Utc>,
        visit: &mut dyn FnMut(&str, DateTime<Utc>) -> ControlFlow<()>,
    ) -> pwsentry::Result<()> {
        self.as_store().visit_changed_before(cutoff, visit)
    }
    fn append_batch(&self, batch: &[(&str, Append<'_>)]) -> pwsentry::Result<()> {
        self.as_store().append_batch(batch)
    }
    fn note_failure(
        &self,
        key: &str,
        at: DateTime<Utc>,
        window: chrono::TimeDelta,
    ) -> pwsentry::Result<u32> {
        self.as_store().note_failure(key, at, window)
    }
    fn failures_since(&self, key: &str, since: DateTime<Utc>) -> pwsentry::Result<u32> {
        self.as_store().failures_since(key, since)
    }
    fn try_attempt(
        &self,
        key: &str,
        at: DateTime<Utc>,
        window: chrono::TimeDelta,
        max: u32,
    ) -> pwsentry::Result<bool> {
        self.as_store().try_attempt(key, at, window, max)
    }
    fn forgive_attempt(&self, key: &str, at: DateTime<Utc>) -> pwsentry::Result<()> {
        self.as_store().forgive_attempt(key, at)
    }
    fn clear_failures(&self, key: &str) -> pwsentry::Result<()> {
        self.as_store().clear_failures(key)
    }
    fn visit_reminders(
        &self,
        cutoff: DateTime<Utc>,
        after: Option<(DateTime<Utc>, &str)>,
        visit: &mut ReminderVisit<'_>,
    ) -> pwsentry::Result<()> {
        self.as_store().visit_reminders(cutoff, after, visit)
    }
    fn note_reminder(
        &self,
        account: &str,
        changed_at: DateTime<Utc>,
        days: ReminderDays,
        sent_at: DateTime<Utc>,
    ) -> pwsentry::Result<()> {
        self.as_store()
            .note_reminder(account, changed_at, days, sent_at)
    }
}

/// How a command opens its store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opening {
    /// Create it (or its schema) if needed, and migrate it.
    Create,
    /// Only an existing one, for writing; `None` when there is none.
    Existing,
    /// Only an existing one, read-only (reports): nothing is written.
    ReadOnly,
}

/// Opens the store at `location` as `how` says, with the policy's account
/// id rules (an SQLite migration makes stored ids canonical by them).
pub fn open_location(
    location: &Location,
    how: Opening,
    policy: &Policy,
) -> anyhow::Result<Option<AnyStore>> {
    match location {
        Location::Sqlite(path) => {
            let options = OpenOptions::new()
                .create(how == Opening::Create)
                .read_only(how == Opening::ReadOnly)
                .accounts(policy.accounts().clone());
            match SqliteStore::open_with(path, &options) {
                Ok(store) => Ok(store.map(AnyStore::Sqlite)),
                Err(e @ Error::Io { .. }) if how == Opening::Create => Err(anyhow::Error::new(e)
                    .context(format!(
                        "cannot create the history database {}",
                        path.display()
                    ))),
                Err(e) => Err(e.into()),
            }
        }
        Location::Postgres(url) => open_postgres(url, how == Opening::Create),
    }
}

#[cfg(feature = "postgres")]
fn open_postgres(url: &str, create: bool) -> anyhow::Result<Option<AnyStore>> {
    use pwsentry::store::{PostgresConfig, PostgresStore};
    let mut config = PostgresConfig::from_url(url)?;
    // libpq's variable, so that the password need not be in the URL (argv).
    if let Some(pw) = std::env::var_os("PGPASSWORD").filter(|p| !p.is_empty()) {
        config = config.password_if_unset(std::os::unix::ffi::OsStrExt::as_bytes(pw.as_os_str()));
    }
    if create {
        Ok(Some(AnyStore::Postgres(PostgresStore::open(&config)?)))
    } else {
        Ok(PostgresStore::open_existing(&config)?.map(AnyStore::Postgres))
    }
}

#[cfg(not(feature = "postgres"))]
fn open_postgres(_url: &str, _create: bool) -> anyhow::Result<Option<AnyStore>> {
    bail!("this pwsentry was built without PostgreSQL support (cargo feature `postgres`)")
}

/// Runs `store migrate` or `store copy`.
pub fn run(g: &GlobalArgs, args: &StoreArgs) -> anyhow::Result<u8> {
    match &args.command {
        StoreCommand::Migrate => migrate(g),
        StoreCommand::Copy(c) => copy(g, c),
    }
}

fn migrate(g: &GlobalArgs) -> anyhow::Result<u8> {
    let policy = g.load_policy()?;
    let location = Location::parse(&g.db_path(&policy)?)?;
    // Opening for writing creates the store or migrates its schema.
    let store = open_location(&location, Opening::Create, &policy)?
        .context("the history store could not be created")?;
    let version = match &store {
        AnyStore::Sqlite(_) => pwsentry::store::SCHEMA_VERSION,
        #[cfg(feature = "postgres")]
        AnyStore::Postgres(s) => s.schema_version()?,
    };
    let mut out = std::io::stdout().lock();
    if g.json {
        writeln!(
            out,
            "{}",
            json!({"store": store.describe(), "schema_version": version})
        )?;
    } else {
        writeln!(
            out,
            "{}: schema version {version}, up to date",
            store.describe()
        )?;
    }
    Ok(EXIT_OK)
}

fn copy(g: &GlobalArgs, args: &CopyArgs) -> anyhow::Result<u8> {
    let (from, to) = (
        Location::parse(&args.from).context("--from")?,
        Location::parse(&args.to).context("--to")?,
    );
    if from == to {
        bail!("--from and --to name the same store");
    }
    let policy = g.load_policy()?;
    let source = open_location(&from, Opening::Existing, &policy)
        .context("cannot open the store to copy from (--from)")?
        .context("the store to copy from (--from) does not exist or has no pwsentry schema")?;
    let target = open_location(&to, Opening::Create, &policy)
        .context("cannot open the store to copy to (--to)")?
        .context("the store to copy to (--to) could not be created")?;
    let (accounts, entries) = target.load_from(&source).context("nothing was copied")?;
    let mut out = std::io::stdout().lock();
    if g.json {
        writeln!(
            out,
            "{}",
            json!({"from": source.describe(), "to": target.describe(), "accounts": accounts, "entries": entries})
        )?;
    } else {
        writeln!(
            out,
            "copied {accounts} accounts and {entries} history entries from {} to {} (counts verified)",
            source.describe(),
            target.describe()
        )?;
    }
    Ok(EXIT_OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations() {
        let parse = |s: &str| Location::parse(Path::new(s));
        assert_eq!(
            parse("postgres:///db?host=/run/postgresql").unwrap(),
            Location::Postgres("postgres:///db?host=/run/postgresql".into())
        );
        assert!(matches!(
            parse("postgresql://u@h/db").unwrap(),
            Location::Postgres(_)
        ));
        // The policy accepts the scheme in any case; so must the opener.
        assert_eq!(
            parse("POSTGRES://h/db").unwrap(),
            Location::Postgres("postgres://h/db".into())
        );
        assert_eq!(
            parse("history.db").unwrap(),
            Location::Sqlite("history.db".into())
        );
        assert!(matches!(
            parse("./postgres://x").unwrap(),
            Location::Sqlite(_)
        ));
        assert!(matches!(parse("./file:x.db").unwrap(), Location::Sqlite(_)));
        assert!(matches!(parse(":memory:").unwrap(), Location::Sqlite(_)));
        for url in [
            "http://evil.example/x",
            "sqlite:///var/lib/h.db",
            "mysql://h/db",
            "file:/tmp/h.db",
            "FILE:h.db",
            "file:h.db?mode=memory",
        ] {
            let e = parse(url).unwrap_err().to_string();
            assert!(
                e.contains("not a supported URL") || e.contains("SQLite URI"),
                "{url}: {e}"
            );
        }
    }
}
