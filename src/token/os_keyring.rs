//! The OS keyring (Secret Service on Linux and the BSDs, Keychain on macOS, Credential
//! Manager on Windows) through the `keyring` crate, version 3.
//!
//! Entries are stored under service [`KEYRING_SERVICE`] and account
//! `<env name>@<origin>`, the origin being wwwroot's exact scheme, host, port and path
//! (`production@https://moodle.example.edu:443/moodle`). A token is handed only to the very
//! address it was stored for: a config that names the same host on another port, scheme or
//! path finds no entry. Keyring tokens go to https sites only, never over plain http, so
//! `login` refuses an http site and `resolve` skips the keyring for one.
//!
//! Entries from before this rule (account `<env name>@<host>`) say nothing about scheme, port
//! or path, so they are never used: when one exists and the new account has none, the error
//! says to log in again and how to remove the old entry.
//!
//! `keyring` v3 silently uses an in-memory mock store when no platform store is compiled in,
//! which would make `maildrift login` "succeed" and forget the token at exit. Two guards
//! make that impossible: a `compile_error!` on target OSes our Cargo features do not cover,
//! and a runtime check that the platform builder persists what it stores (in case the
//! platform features are ever dropped from Cargo.toml). Entries are built from that checked
//! builder directly, never from the process-wide default that other code could replace.
//!
//! Every call runs on its own thread with a deadline ([`KEYRING_TIMEOUT`]): the Secret
//! Service may wait forever on an unlock prompt that nobody can see on a headless machine,
//! and `keyring`'s blocking Secret Service calls must not run on a Tokio runtime thread.

use std::sync::mpsc;
use std::time::Duration;

use keyring_crate::credential::CredentialPersistence;
use keyring_crate::{Entry, Error as KeyringError};

use super::{Token, TokenError, TokenSource};
use crate::config::Environment;

// Renamed so it cannot be confused with this module.
use ::keyring as keyring_crate;

#[cfg(not(any(
    target_os = "linux",
    target_os = "freebsd",
    target_os = "openbsd",
    target_os = "macos",
    target_os = "ios",
    target_os = "windows",
)))]
compile_error!(
    "maildrift: keyring v3 has no platform credential store for this target OS and would fall \
     back to an in-memory mock that forgets tokens; port the keyring support before building here"
);

/// The keyring service name under which every maildrift token is stored.
pub const KEYRING_SERVICE: &str = "maildrift";

/// How long one keyring operation may take before it is reported as hanging.
pub const KEYRING_TIMEOUT: Duration = Duration::from_secs(20);

/// The exact origin a keyring token is bound to: `scheme://host:port` and wwwroot's path
/// without a trailing slash, e.g. `https://moodle.example.edu:443/moodle`. The port is always
/// written, so `https://x` and `https://x:443` are one origin.
pub fn keyring_origin(env: &Environment) -> Result<String, TokenError> {
    let url = &env.url;
    match (url.host_str(), url.port_or_known_default()) {
        (Some(host), Some(port)) if !host.is_empty() => Ok(format!(
            "{}://{host}:{port}{}",
            url.scheme(),
            url.path().trim_end_matches('/')
        )),
        _ => Err(TokenError::KeyringNoHost {
            env: env.name.clone(),
            url: env.url.to_string(),
            var: env.token_env.clone(),
        }),
    }
}

/// The keyring account for `env`: `<env name>@<origin>` (see [`keyring_origin`]), e.g.
/// `production@https://moodle.example.edu:443`.
pub fn keyring_account(env: &Environment) -> Result<String, TokenError> {
    Ok(format!("{}@{}", env.name, keyring_origin(env)?))
}

/// The account older versions used, `<env name>@<host>`: looked at only to explain why its
/// token is no longer used.
fn legacy_account(env: &Environment) -> Option<String> {
    env.url
        .host_str()
        .filter(|h| !h.is_empty())
        .map(|host| format!("{}@{host}", env.name))
}

/// Keyring tokens go over https only: an error for any other scheme.
pub fn require_https(env: &Environment) -> Result<(), TokenError> {
    if env.url.scheme() == "https" {
        return Ok(());
    }
    Err(TokenError::KeyringNeedsHttps {
        env: env.name.clone(),
        url: env.url.to_string(),
        var: env.token_env.clone(),
    })
}

pub(super) fn source(env: &Environment) -> Result<TokenSource, TokenError> {
    Ok(TokenSource::Keyring {
        service: KEYRING_SERVICE.to_string(),
        account: keyring_account(env)?,
    })
}

/// Reads `env`'s token from the keyring. No entry is [`TokenError::NotInKeyring`].
pub fn load(env: &Environment) -> Result<Token, TokenError> {
    if !env.keyring {
        return Err(TokenError::KeyringDisabled {
            env: env.name.clone(),
            var: env.token_env.clone(),
        });
    }
    require_https(env)?;
    let account = keyring_account(env)?;
    let entry = entry(env, &account)?;
    let raw = match run(env, move || entry.get_password())? {
        Ok(raw) => raw,
        Err(KeyringError::NoEntry) => return Err(not_in_keyring(env, account)),
        Err(other) => return Err(classify(env, &account, other)),
    };
    Token::parse(&raw).map_err(|reason| TokenError::Malformed {
        env: env.name.clone(),
        from: TokenSource::Keyring {
            service: KEYRING_SERVICE.to_string(),
            account: account.clone(),
        },
        reason,
    })
}

/// No entry for `env`'s origin: [`TokenError::NotInKeyring`], or, when an entry of the old
/// host-only kind exists, [`TokenError::KeyringLegacyEntry`] saying to log in again.
fn not_in_keyring(env: &Environment, account: String) -> TokenError {
    let missing = TokenError::NotInKeyring {
        env: env.name.clone(),
        var: env.token_env.clone(),
        service: KEYRING_SERVICE.to_string(),
        account: account.clone(),
    };
    let Some(legacy) = legacy_account(env) else {
        return missing;
    };
    let Ok(old) = entry(env, &legacy) else {
        return missing;
    };
    // Only whether it exists matters; its value is dropped unread by anyone.
    match run(env, move || old.get_password().map(drop)) {
        Ok(Ok(())) => TokenError::KeyringLegacyEntry {
            env: env.name.clone(),
            service: KEYRING_SERVICE.to_string(),
            legacy,
            account,
        },
        _ => missing,
    }
}

/// Stores `token` as `env`'s token, replacing any earlier one.
pub fn store(env: &Environment, token: &Token) -> Result<(), TokenError> {
    if !env.keyring {
        return Err(TokenError::KeyringDisabled {
            env: env.name.clone(),
            var: env.token_env.clone(),
        });
    }
    require_https(env)?;
    let account = keyring_account(env)?;
    // `Token::new` does not check its input; store nothing `load` would refuse later.
    let token = Token::parse(token.expose()).map_err(|reason| TokenError::Malformed {
        env: env.name.clone(),
        from: TokenSource::Keyring {
            service: KEYRING_SERVICE.to_string(),
            account: account.clone(),
        },
        reason,
    })?;
    let entry = entry(env, &account)?;
    run(env, move || entry.set_password(token.expose()))?.map_err(|e| classify(env, &account, e))
}

/// Deletes `env`'s token from the keyring. Works with `keyring = false` too, to clean up
/// after switching the keyring off. No entry is [`TokenError::NothingToDelete`].
pub fn delete(env: &Environment) -> Result<(), TokenError> {
    let account = keyring_account(env)?;
    let entry = entry(env, &account)?;
    run(env, move || entry.delete_credential())?.map_err(|e| match e {
        KeyringError::NoEntry => TokenError::NothingToDelete {
            env: env.name.clone(),
            service: KEYRING_SERVICE.to_string(),
            account: account.clone(),
        },
        other => classify(env, &account, other),
    })
}

/// An entry built by the platform store, refusing any store that does not persist.
fn entry(env: &Environment, account: &str) -> Result<Entry, TokenError> {
    let builder = keyring_crate::default::default_credential_builder();
    if !matches!(builder.persistence(), CredentialPersistence::UntilDelete) {
        return Err(TokenError::KeyringNotPersistent {
            env: env.name.clone(),
            var: env.token_env.clone(),
        });
    }
    let credential = builder
        .build(None, KEYRING_SERVICE, account)
        .map_err(|e| classify(env, account, e))?;
    Ok(Entry::new_with_credential(credential))
}

/// Runs `op` on a thread of its own and waits at most [`KEYRING_TIMEOUT`] for it. On a
/// timeout the thread is left behind: a blocked D-Bus call cannot be cancelled, and a CLI
/// exits soon after reporting the error.
fn run<T: Send + 'static>(
    env: &Environment,
    op: impl FnOnce() -> Result<T, KeyringError> + Send + 'static,
) -> Result<Result<T, KeyringError>, TokenError> {
    let failed = |detail: String| TokenError::KeyringFailed {
        env: env.name.clone(),
        var: env.token_env.clone(),
        detail,
    };
    let (tx, rx) = mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name("maildrift-keyring".into())
        .spawn(move || {
            // The receiver is gone only after a timeout was already reported.
            let _ = tx.send(op());
        })
        .map_err(|e| failed(format!("cannot start a thread for it: {e}")))?;
    match rx.recv_timeout(KEYRING_TIMEOUT) {
        Ok(result) => Ok(result),
        Err(mpsc::RecvTimeoutError::Timeout) => Err(TokenError::KeyringTimeout {
            env: env.name.clone(),
            var: env.token_env.clone(),
            timeout: KEYRING_TIMEOUT,
        }),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            Err(failed("the keyring call stopped without an answer".into()))
        }
    }
}

/// Turns a keyring error other than "no entry" into ours. The details come from the platform
/// store and describe the store, never the secret.
fn classify(env: &Environment, account: &str, err: KeyringError) -> TokenError {
    let name = env.name.clone();
    let var = env.token_env.clone();
    match err {
        // Secret Service: no D-Bus session, no service on it, or a failing call.
        KeyringError::PlatformFailure(e) => TokenError::KeyringUnavailable {
            env: name,
            var,
            detail: e.to_string(),
        },
        // Secret Service: the collection is locked, or the unlock prompt was dismissed.
        KeyringError::NoStorageAccess(e) => TokenError::KeyringLocked {
            env: name,
            var,
            detail: e.to_string(),
        },
        KeyringError::Ambiguous(found) => TokenError::KeyringAmbiguous {
            env: name,
            service: KEYRING_SERVICE.to_string(),
            account: account.to_string(),
            count: found.len(),
        },
        // The payload holds the stored bytes; they must not reach a message.
        KeyringError::BadEncoding(_) => TokenError::Malformed {
            env: name,
            from: TokenSource::Keyring {
                service: KEYRING_SERVICE.to_string(),
                account: account.to_string(),
            },
            reason: "is not valid UTF-8",
        },
        KeyringError::NoEntry => TokenError::NotInKeyring {
            env: name,
            var,
            service: KEYRING_SERVICE.to_string(),
            account: account.to_string(),
        },
        other => TokenError::KeyringFailed {
            env: name,
            var,
            detail: other.to_string(),
        },
    }
}
