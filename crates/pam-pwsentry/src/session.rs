//! What the module needs from PAM, as a safe trait: the user, the old and
//! new passwords, the conversation, syslog, and a place to keep an accepted
//! change between the checking and the recording instance. `ffi` implements
//! it over a real PAM handle; the unit tests implement it in memory.
//!
//! Nothing here prints or logs a password: they travel only in
//! [`Secret`]s, which wipe their memory when dropped.

use pwsentry::Checker;
use pwsentry::history::Change;
use pwsentry::store::SqliteStore;
use zeroize::Zeroizing;

/// A password copied out of PAM, wiped when dropped.
pub type Secret = Zeroizing<String>;

/// A PAM return code (`PAM_SUCCESS`, `PAM_AUTHTOK_ERR`, …), as Linux-PAM's
/// `_pam_types.h` numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Code(pub i32);

impl Code {
    /// `PAM_SUCCESS`.
    pub const SUCCESS: Code = Code(0);
    /// `PAM_SERVICE_ERR`: the module could not do its job (configuration,
    /// database); the stack fails closed.
    pub const SERVICE_ERR: Code = Code(3);
    /// `PAM_NEW_AUTHTOK_REQD`: the password must be changed now.
    pub const NEW_AUTHTOK_REQD: Code = Code(12);
    /// `PAM_CONV_ERR`.
    pub const CONV_ERR: Code = Code(19);
    /// `PAM_AUTHTOK_ERR`: the new password was refused.
    pub const AUTHTOK_ERR: Code = Code(20);
    /// `PAM_TRY_AGAIN`: the retyped password did not match.
    pub const TRY_AGAIN: Code = Code(24);
    /// `PAM_IGNORE`: this module has no say.
    pub const IGNORE: Code = Code(25);
    /// `PAM_AUTHTOK_EXPIRED`: the password expired; login is refused.
    pub const AUTHTOK_EXPIRED: Code = Code(27);
    /// `PAM_CONV_AGAIN`: the application's conversation will answer later.
    pub const CONV_AGAIN: Code = Code(30);
    /// `PAM_INCOMPLETE`: call again to finish (the answer to `PAM_CONV_AGAIN`).
    pub const INCOMPLETE: Code = Code(31);
}

/// How serious a syslog message is (its syslog priority).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// `LOG_ERR`: the module could not work as configured.
    Error,
    /// `LOG_WARNING`: it worked, but something needs a look.
    Warning,
    /// `LOG_NOTICE`: a normal but significant event (a refused password).
    Notice,
}

/// An accepted password change, kept on the PAM handle by the checking
/// instance until the recording instance (after `pam_unix`) commits it.
pub struct Pending {
    /// The checker it was evaluated with (its policy's hashing is used).
    pub checker: Checker,
    /// The history it was evaluated against.
    pub store: SqliteStore,
    /// The evaluated change.
    pub change: Change,
    /// The password handed to `pam_unix`, to check that it is still the one
    /// in `PAM_AUTHTOK` when recording.
    pub password: Secret,
}

/// The PAM handle, as the module uses it.
pub trait Session {
    /// The PAM user (`pam_get_user`).
    ///
    /// # Errors
    /// PAM's code when there is none.
    fn user(&mut self) -> Result<String, Code>;
    /// `PAM_OLDAUTHTOK`: the current password, when an earlier module
    /// (`pam_unix` in the first pass, as a non-root user) asked for and
    /// verified it.
    ///
    /// # Errors
    /// PAM's code if it cannot be read or is not UTF-8.
    fn old_password(&self) -> Result<Option<Secret>, Code>;
    /// The new password: `PAM_AUTHTOK` if an earlier module set it, else
    /// asked for ("New password: ") and stored in `PAM_AUTHTOK`
    /// (`pam_get_authtok_noverify`; with `use_authtok` it is never asked).
    ///
    /// # Errors
    /// PAM's code (`PAM_AUTHTOK_ERR` with `use_authtok` and no password,
    /// `PAM_CONV_ERR`, …), `PAM_AUTHTOK_ERR` if it is not UTF-8.
    fn new_password(&mut self) -> Result<Secret, Code>;
    /// Asks for the new password again ("Retype new password: ",
    /// `pam_get_authtok_verify`).
    ///
    /// # Errors
    /// `PAM_TRY_AGAIN` when it does not match (PAM has told the user and
    /// cleared `PAM_AUTHTOK`), or another PAM code.
    fn confirm_new_password(&mut self) -> Result<(), Code>;
    /// `PAM_AUTHTOK` as it is now, without asking.
    ///
    /// # Errors
    /// PAM's code if it cannot be read or is not UTF-8.
    fn current_new_password(&self) -> Result<Option<Secret>, Code>;
    /// Clears `PAM_AUTHTOK`, so that the next attempt asks again.
    fn forget_new_password(&mut self);
    /// Shows an error message (`PAM_ERROR_MSG`).
    fn error(&mut self, message: &str);
    /// Shows an informational message (`PAM_TEXT_INFO`).
    fn info(&mut self, message: &str);
    /// Writes to syslog (facility authpriv). Never given a secret.
    fn log(&self, level: Level, message: &str);
    /// Keeps an accepted change on the handle for the recording instance
    /// (replacing any earlier one).
    ///
    /// # Errors
    /// PAM's code if it cannot be stored.
    fn keep(&mut self, pending: Pending) -> Result<(), Code>;
    /// Takes the change kept by [`Session::keep`], if any.
    fn take(&mut self) -> Option<Pending>;
}
