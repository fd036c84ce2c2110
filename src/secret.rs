//! The password type: a secret that is wiped on drop and never printed.
//!
//! This module must not offer any way to display the secret except the
//! explicit [`Password::expose`].

use std::fmt;
use zeroize::Zeroizing;

/// A password or candidate password.
///
/// Held in a [`Zeroizing`] buffer so its bytes are wiped when dropped;
/// `Debug` prints `[redacted]`.
///
/// ```
/// use pwsentry::Password;
/// let p = Password::new("Tr0ub4dor&3".to_owned());
/// assert_eq!(format!("{p:?}"), "[redacted]");
/// assert_eq!(p.expose(), "Tr0ub4dor&3");
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Password(Zeroizing<String>);

impl Password {
    /// Takes ownership of `secret`; it is wiped when the `Password` is dropped.
    pub fn new(secret: String) -> Self {
        Password(Zeroizing::new(secret))
    }

    /// The secret itself. Keep the borrow short and never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Number of Unicode code points.
    pub fn char_count(&self) -> usize {
        self.0.chars().count()
    }
}

impl From<&str> for Password {
    fn from(s: &str) -> Self {
        Password::new(s.to_owned())
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}
