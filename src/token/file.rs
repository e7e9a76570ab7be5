//! Token files: one token on one line, private to their owner.

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::path::Path;

use super::{MAX_TOKEN_LEN, Token, TokenError, TokenSource};
use crate::config::Environment;

/// Reads the token in `path` for `env`.
///
/// On Unix the file is refused when group or others have any permission on it
/// (`mode & 0o077 != 0`): a readable token file is a leaked admin password, and a writable
/// one lets another user point maildrift at a token of their choosing. The mode is taken from
/// the opened file, so it is the mode of what is actually read (the target of a symlink).
pub fn read_token_file(env: &Environment, path: &Path) -> Result<Token, TokenError> {
    let file = File::open(path).map_err(|source| match source.kind() {
        ErrorKind::NotFound => TokenError::FileMissing {
            env: env.name.clone(),
            path: path.to_path_buf(),
        },
        _ => TokenError::FileUnreadable {
            env: env.name.clone(),
            path: path.to_path_buf(),
            source,
        },
    })?;
    let unreadable = |source| TokenError::FileUnreadable {
        env: env.name.clone(),
        path: path.to_path_buf(),
        source,
    };
    let meta = file.metadata().map_err(unreadable)?;
    if !meta.is_file() {
        return Err(TokenError::FileNotRegular {
            env: env.name.clone(),
            path: path.to_path_buf(),
        });
    }
    check_private(env, path, &meta)?;
    let malformed = |reason| TokenError::Malformed {
        env: env.name.clone(),
        from: TokenSource::File(path.to_path_buf()),
        reason,
    };
    // Bounded read: a token_file pointing at a large file by mistake must not be slurped.
    // The slack over MAX_TOKEN_LEN leaves room for surrounding white space.
    let limit = (MAX_TOKEN_LEN + 1024) as u64;
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if bytes.len() as u64 > limit {
        return Err(malformed("is longer than 256 characters"));
    }
    let text = String::from_utf8(bytes).map_err(|_| malformed("is not valid UTF-8"))?;
    Token::parse(&text).map_err(malformed)
}

#[cfg(unix)]
fn check_private(
    env: &Environment,
    path: &Path,
    meta: &std::fs::Metadata,
) -> Result<(), TokenError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(TokenError::FilePermissions {
            env: env.name.clone(),
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

// Windows has ACLs, not mode bits; the user profile directory is private by default there,
// and checking ACLs properly needs a Windows API crate this project does not carry.
#[cfg(not(unix))]
fn check_private(_: &Environment, _: &Path, _: &std::fs::Metadata) -> Result<(), TokenError> {
    Ok(())
}
