//! Moodle web service tokens: where they come from and how they are kept out of every output.
//!
//! A maildrift token reads the site's whole mail configuration, so it is as good as a password
//! and this module treats it that way: [`Token`] never prints its value, token files must be
//! private to their owner, and nothing is ever kept in a pretend store that forgets it at exit.
//!
//! # Resolution order
//!
//! [`resolve`] looks for an environment's token in this order and takes the first one found:
//!
//! 1. the environment variable [`Environment::token_env`] (default
//!    `MAILDRIFT_TOKEN_<NAME>`, e.g. `MAILDRIFT_TOKEN_PRODUCTION`); set but empty counts as
//!    not set, so `MAILDRIFT_TOKEN_PRODUCTION= maildrift …` switches it off;
//! 2. the OS keyring, when [`Environment::keyring`] is true (the default) and the url is
//!    https: service [`KEYRING_SERVICE`], account `<env name>@<exact origin>` (see
//!    [`keyring_account`]), so a keyring token only ever goes back to the address it was
//!    stored for;
//! 3. the file [`Environment::token_file`], when configured.
//!
//! A source that is configured but has no token (variable unset, no keyring entry) passes on
//! to the next one. A source that holds something unusable stops the search with an error
//! naming it: a malformed token, a token file others can read, a missing token file, and a
//! keyring that is locked (it may hold a newer token than the file). A machine with no
//! keyring at all (no Secret Service, as on most servers) passes on to `token_file` when one
//! is configured, and is an error naming the alternatives when none is.
//!
//! Tokens are trimmed of surrounding white space. What remains must be 1 to
//! [`MAX_TOKEN_LEN`] visible ASCII characters with no spaces. Moodle's own tokens are 32
//! lowercase hex characters, but plugins and older sites issue others, so only the visible
//! ASCII rule is enforced, and silently.

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;

use crate::config::Environment;

mod file;
mod input;
mod os_keyring;

pub use file::read_token_file;
pub use input::read_token_from_user;
pub use os_keyring::{
    KEYRING_SERVICE, KEYRING_TIMEOUT, delete, keyring_account, keyring_origin, load, require_https,
    store,
};

/// The longest token accepted. Moodle's are 32 characters; this leaves room for other schemes
/// while keeping a wrongly named file (a log, a key) from being sent as a token.
pub const MAX_TOKEN_LEN: usize = 256;

/// A Moodle web service token. Its `Debug` and `Display` never show the value; the only way to
/// read it is [`Token::expose`], used when building the POST body.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    pub fn new(value: impl Into<String>) -> Self {
        Token(value.into())
    }

    /// The secret value. Call only where it goes on the wire or into the keyring.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Trims `raw` and checks it is a plausible token; `Err` says what is wrong with it
    /// without repeating any of it.
    pub fn parse(raw: &str) -> Result<Token, &'static str> {
        let value = raw.trim();
        if value.is_empty() {
            return Err("is empty");
        }
        if value.len() > MAX_TOKEN_LEN {
            return Err("is longer than 256 characters");
        }
        if value.chars().any(char::is_whitespace) {
            return Err("contains white space");
        }
        if !value.chars().all(|c| c.is_ascii_graphic()) {
            return Err("contains characters other than visible ASCII");
        }
        Ok(Token(value.to_string()))
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Where a token was (or would be) found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// `env var MAILDRIFT_TOKEN_PRODUCTION`
    EnvVar(String),
    /// `keyring (service maildrift, account production@https://moodle.example.edu:443)`
    Keyring { service: String, account: String },
    /// `file /etc/maildrift/production.token`
    File(PathBuf),
}

impl TokenSource {
    /// The kind of source without its details: `env var`, `keyring` or `file`.
    pub fn kind(&self) -> &'static str {
        match self {
            TokenSource::EnvVar(_) => "env var",
            TokenSource::Keyring { .. } => "keyring",
            TokenSource::File(_) => "file",
        }
    }
}

impl fmt::Display for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenSource::EnvVar(var) => write!(f, "env var {var}"),
            TokenSource::Keyring { service, account } => {
                write!(f, "keyring (service {service}, account {account})")
            }
            TokenSource::File(path) => write!(f, "file {}", path.display()),
        }
    }
}

/// A token and where it came from (for `-v` output and `doctor`; never the value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub token: Token,
    pub source: TokenSource,
}

/// Why no usable token could be found, read, stored or deleted. Every message names the
/// environment and the source, says what to do, and never contains the token.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error(
        "{env}: no token found; set {var}, run `maildrift login {env}`, or configure token_file"
    )]
    Missing { env: String, var: String },

    #[error(
        "{env}: the token in {from} {reason}; a Moodle web service token is 32 hex characters (Site administration > Server > Web services > Manage tokens)"
    )]
    Malformed {
        env: String,
        from: TokenSource,
        reason: &'static str,
    },

    #[error(
        "the token read from {origin} {reason}; paste the web service token from Moodle (Site administration > Server > Web services > Manage tokens)"
    )]
    BadInput {
        origin: &'static str,
        reason: &'static str,
    },

    #[error("cannot read the token from {origin}: {source}")]
    Input {
        origin: &'static str,
        source: std::io::Error,
    },

    #[error("{env}: token_file {} does not exist; create it with the token on one line and run `chmod 600 {}`, or remove token_file from [environments.{env}]", path.display(), path.display())]
    FileMissing { env: String, path: PathBuf },

    #[error("{env}: cannot read token_file {}: {source}; check the path and that this user may read it", path.display())]
    FileUnreadable {
        env: String,
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("{env}: token_file {} is not a regular file; point token_file at a file holding only the token", path.display())]
    FileNotRegular { env: String, path: PathBuf },

    #[error("{env}: token_file {} can be read or written by group or others (mode {mode:04o}); run `chmod 600 {}`", path.display(), path.display())]
    FilePermissions {
        env: String,
        path: PathBuf,
        mode: u32,
    },

    #[error("{env}: token_file {} belongs to user id {owner}, not to the user running maildrift (id {me}); another user could change the token in it. As this user, copy it to a file of your own (`install -m 600 /dev/null NEW && cat {} > NEW`) and point token_file there", path.display(), path.display())]
    FileOwner {
        env: String,
        path: PathBuf,
        owner: u32,
        me: u32,
    },

    #[error("{env}: token_file {}: the folder {} can be written by group or others (mode {mode:04o}) and is not sticky, so another user could replace the token file or a link to it; run `chmod go-w {}`, or keep the token file in a private folder", path.display(), dir.display(), dir.display())]
    FileFolderWritable {
        env: String,
        path: PathBuf,
        dir: PathBuf,
        mode: u32,
    },

    #[error(
        "{env}: keyring = false in [environments.{env}]; remove that line to use the OS keyring, or set {var} or token_file"
    )]
    KeyringDisabled { env: String, var: String },

    #[error(
        "{env}: the url {url} has no host to name the keyring account after; fix url in [environments.{env}], or set {var} or token_file"
    )]
    KeyringNoHost {
        env: String,
        url: String,
        var: String,
    },

    #[error(
        "{env}: keyring tokens are only sent over https, and the url is {url}; use an https url, or set {var} or token_file for this site"
    )]
    KeyringNeedsHttps {
        env: String,
        url: String,
        var: String,
    },

    #[error(
        "{env}: the keyring has a token under the old account {legacy}, which is not tied to a scheme, port and path, so it is not used; run `maildrift login {env}` to store it for account {account}, then remove the old one (e.g. `secret-tool clear service {service} username {legacy}`)"
    )]
    KeyringLegacyEntry {
        env: String,
        service: String,
        legacy: String,
        account: String,
    },

    #[error(
        "{env}: the OS keyring cannot be reached ({detail}); set {var} or token_file, and keyring = false in [environments.{env}] on machines without one"
    )]
    KeyringUnavailable {
        env: String,
        var: String,
        detail: String,
    },

    #[error(
        "{env}: the OS keyring is locked or refused access ({detail}); unlock it (log in to the desktop session, or `gnome-keyring-daemon --unlock`), or set {var} or token_file"
    )]
    KeyringLocked {
        env: String,
        var: String,
        detail: String,
    },

    #[error("{env}: the OS keyring did not answer within {} s (it may be waiting on an unlock prompt nobody can see); unlock it, or set {var} or token_file", timeout.as_secs())]
    KeyringTimeout {
        env: String,
        var: String,
        timeout: std::time::Duration,
    },

    #[error(
        "{env}: this build has no OS keyring store (only keyring's in-memory mock, which would forget the token at exit); set {var} or token_file, and keyring = false in [environments.{env}]"
    )]
    KeyringNotPersistent { env: String, var: String },

    #[error(
        "{env}: the keyring has no token under service {service}, account {account}; store one with `maildrift login {env}`, or set {var} or token_file"
    )]
    NotInKeyring {
        env: String,
        var: String,
        service: String,
        account: String,
    },

    #[error(
        "{env}: the keyring has no token under service {service}, account {account}; nothing to delete"
    )]
    NothingToDelete {
        env: String,
        service: String,
        account: String,
    },

    #[error(
        "{env}: {count} keyring entries match service {service}, account {account}; remove the extra ones with your keyring's tool (e.g. `secret-tool clear service {service} username {account}`), then run `maildrift login {env}`"
    )]
    KeyringAmbiguous {
        env: String,
        service: String,
        account: String,
        count: usize,
    },

    #[error("{env}: the OS keyring failed ({detail}); set {var} or token_file")]
    KeyringFailed {
        env: String,
        var: String,
        detail: String,
    },
}

/// Finds the token for `env`; see the module docs for the order.
pub fn resolve(env: &Environment) -> Result<Resolved, TokenError> {
    resolve_with(env, &|var| std::env::var_os(var), &load)
}

/// [`resolve`] with the environment variables and the keyring supplied by the caller, so tests
/// need not change the process environment (shared by all test threads) or the user's keyring.
pub fn resolve_with(
    env: &Environment,
    lookup_var: &dyn Fn(&str) -> Option<OsString>,
    load_keyring: &dyn Fn(&Environment) -> Result<Token, TokenError>,
) -> Result<Resolved, TokenError> {
    if let Some(found) = from_env_var(env, lookup_var)? {
        return Ok(found);
    }
    if env.keyring && keyring_applies(env) {
        match load_keyring(env) {
            Ok(token) => {
                return Ok(Resolved {
                    token,
                    source: os_keyring::source(env)?,
                });
            }
            Err(TokenError::NotInKeyring { .. }) => {}
            // No keyring on this machine at all (a server, a container) while a token file is
            // configured: the file is plainly what the admin meant. A keyring that exists but
            // is locked still stops the search, since it may hold a newer token.
            Err(
                e @ (TokenError::KeyringUnavailable { .. }
                | TokenError::KeyringNotPersistent { .. }),
            ) if env.token_file.is_some() => {
                tracing::debug!("{e}; using token_file instead");
            }
            Err(e) => return Err(e),
        }
    }
    if let Some(path) = &env.token_file {
        return Ok(Resolved {
            token: read_token_file(env, path)?,
            source: TokenSource::File(path.clone()),
        });
    }
    Err(TokenError::Missing {
        env: env.name.clone(),
        var: env.token_env.clone(),
    })
}

/// Keyring tokens are bound to https origins; for a plain-http site the keyring is passed over.
fn keyring_applies(env: &Environment) -> bool {
    env.url.scheme() == "https"
}

fn from_env_var(
    env: &Environment,
    lookup_var: &dyn Fn(&str) -> Option<OsString>,
) -> Result<Option<Resolved>, TokenError> {
    let source = TokenSource::EnvVar(env.token_env.clone());
    let malformed = |reason| TokenError::Malformed {
        env: env.name.clone(),
        from: source.clone(),
        reason,
    };
    let Some(raw) = lookup_var(&env.token_env) else {
        return Ok(None);
    };
    // Set-but-empty means "not from here": shells and CI systems often export empty
    // variables, and an error for them would block the keyring and file behind.
    if raw.is_empty() {
        return Ok(None);
    }
    let text = raw
        .into_string()
        .map_err(|_| malformed("is not valid UTF-8"))?;
    let token = Token::parse(&text).map_err(malformed)?;
    Ok(Some(Resolved { token, source }))
}

/// How one token source looks for an environment, for `maildrift doctor`.
#[derive(Debug)]
pub struct SourceStatus {
    pub source: TokenSource,
    pub state: SourceState,
}

/// Whether a source is configured, holds a token, and whether that token is usable.
#[derive(Debug)]
pub enum SourceState {
    /// Switched off or not set up in the config; the reason says which setting.
    NotConfigured(&'static str),
    /// Configured, but holds no token (variable unset, no keyring entry).
    Absent,
    /// Configured and holds something that cannot be used; the error says why and what to do.
    Unusable(TokenError),
    /// Holds a well-formed token.
    Usable,
}

impl fmt::Display for SourceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.state {
            SourceState::NotConfigured(why) => {
                write!(f, "{}: not configured ({why})", self.source.kind())
            }
            SourceState::Absent => write!(f, "{}: no token there", self.source),
            SourceState::Unusable(e) => write!(f, "{}: unusable: {e}", self.source),
            SourceState::Usable => write!(f, "{}: token present and well-formed", self.source),
        }
    }
}

/// Every source [`resolve`] would look at for `env`, in its order, and how each one stands.
/// Unlike `resolve` it asks all of them, so one broken source does not hide the others.
pub fn describe(env: &Environment) -> Vec<SourceStatus> {
    describe_with(env, &|var| std::env::var_os(var), &load)
}

/// [`describe`] with the environment variables and the keyring supplied by the caller.
pub fn describe_with(
    env: &Environment,
    lookup_var: &dyn Fn(&str) -> Option<OsString>,
    load_keyring: &dyn Fn(&Environment) -> Result<Token, TokenError>,
) -> Vec<SourceStatus> {
    let mut out = Vec::with_capacity(3);
    out.push(SourceStatus {
        source: TokenSource::EnvVar(env.token_env.clone()),
        state: match from_env_var(env, lookup_var) {
            Ok(Some(_)) => SourceState::Usable,
            Ok(None) => SourceState::Absent,
            Err(e) => SourceState::Unusable(e),
        },
    });
    let keyring_source = os_keyring::source(env).unwrap_or_else(|_| TokenSource::Keyring {
        service: KEYRING_SERVICE.to_string(),
        account: format!("{}@?", env.name),
    });
    out.push(SourceStatus {
        source: keyring_source,
        state: if !env.keyring {
            SourceState::NotConfigured("keyring = false")
        } else if !keyring_applies(env) {
            SourceState::NotConfigured("keyring tokens go to https urls only")
        } else {
            match load_keyring(env) {
                Ok(_) => SourceState::Usable,
                Err(TokenError::NotInKeyring { .. }) => SourceState::Absent,
                Err(e) => SourceState::Unusable(e),
            }
        },
    });
    out.push(match &env.token_file {
        None => SourceStatus {
            source: TokenSource::File(PathBuf::new()),
            state: SourceState::NotConfigured("no token_file"),
        },
        Some(path) => SourceStatus {
            source: TokenSource::File(path.clone()),
            state: match read_token_file(env, path) {
                Ok(_) => SourceState::Usable,
                // A configured file that is missing is an error for `resolve`, so it is
                // shown as one here too, not as a quiet "absent".
                Err(e) => SourceState::Unusable(e),
            },
        },
    });
    out
}

#[cfg(test)]
mod tests;
