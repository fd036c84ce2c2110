//! Recipients for accounts whose mail goes elsewhere than the `[notify]
//! address` pattern says: the `address_map` file.

use super::notify::header_value;
use crate::account::{AccountId, AccountsPolicy};
use crate::error::{Error, Result};
use crate::trusted_file::{self, FileRole};
use std::collections::HashMap;
use std::path::Path;

/// Largest address map file accepted, in bytes: the map is held in memory
/// (it lists the exceptions to the address pattern, not every account).
pub const MAX_ADDRESS_MAP_BYTES: usize = 64 * 1024 * 1024;

/// Recipients for accounts whose mail goes elsewhere than the `address`
/// pattern says: a file of `account address` lines (`#` starts a comment
/// line). Account ids are made canonical as everywhere else.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressMap {
    map: HashMap<String, String>,
}

impl AddressMap {
    /// Reads the map at `path` (a trusted file, at most
    /// [`MAX_ADDRESS_MAP_BYTES`]).
    ///
    /// # Errors
    /// [`Error::Policy`] naming the file, and the line for a malformed
    /// entry (a line without two fields, an invalid account id, an address
    /// with a control character, an account listed twice).
    pub fn load(path: &Path, rules: &AccountsPolicy) -> Result<AddressMap> {
        let origin = path.display().to_string();
        let fail = |line: Option<usize>, message: String| {
            Error::Policy(crate::error::PolicyError {
                origin: origin.clone(),
                line,
                column: line.map(|_| 1),
                message: format!("address map: {message}"),
            })
        };
        let mut bytes = Vec::new();
        if !trusted_file::read_at_most(path, FileRole::Config, MAX_ADDRESS_MAP_BYTES, &mut bytes)
            .map_err(|e| fail(None, e.to_string()))?
        {
            return Err(fail(
                None,
                format!("larger than {} MiB", MAX_ADDRESS_MAP_BYTES >> 20),
            ));
        }
        let text = String::from_utf8(bytes).map_err(|_| fail(None, "not UTF-8 text".into()))?;
        AddressMap::parse(&text, rules).map_err(|(line, m)| fail(Some(line), m))
    }

    /// Parses map text; errors give the 1-based line.
    ///
    /// # Errors
    /// (line, message) for the first malformed line.
    ///
    /// ```
    /// use pwsentry::remind::AddressMap;
    /// let map = AddressMap::parse("# ops\nAlice@Example.com  alice.private@example.org\n", &Default::default()).unwrap();
    /// assert_eq!(map.get("alice@example.com"), Some("alice.private@example.org"));
    /// ```
    pub fn parse(
        text: &str,
        rules: &AccountsPolicy,
    ) -> std::result::Result<AddressMap, (usize, String)> {
        let mut map = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            let n = i + 1;
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut fields = line.split_whitespace();
            let (Some(account), Some(address), None) =
                (fields.next(), fields.next(), fields.next())
            else {
                return Err((n, "expected `account address`".into()));
            };
            let account = AccountId::parse(account, rules)
                .map_err(|e| (n, format!("invalid account id: {e}")))?
                .into_string();
            header_value("the address", address).map_err(|m| (n, m))?;
            if map.insert(account.clone(), address.to_owned()).is_some() {
                return Err((n, format!("{account} is listed twice")));
            }
        }
        Ok(AddressMap { map })
    }

    /// The address of `account`, if the map lists it.
    pub fn get(&self, account: &str) -> Option<&str> {
        self.map.get(account).map(String::as_str)
    }

    /// How many accounts the map lists.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// `true` when the map lists no account.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_maps() {
        let rules = AccountsPolicy::default();
        let m = AddressMap::parse("a@x.org b@y.org\n\n# c\nC@X.ORG c@y.org\n", &rules).unwrap();
        assert_eq!((m.get("c@x.org"), m.len()), (Some("c@y.org"), 2));
        for (bad, line) in [
            ("a@x.org\n", 1),
            ("ok@x.org o@y\nx@y.org a b\n", 2),
            ("a@x.org b@y\nA@x.org c@y\n", 2),
            ("a@x.org b@y\u{7}\n", 1),
            ("a\u{202E}b@x.org y@z\n", 1),
        ] {
            assert_eq!(
                AddressMap::parse(bad, &rules).unwrap_err().0,
                line,
                "{bad:?}"
            );
        }
    }
}
