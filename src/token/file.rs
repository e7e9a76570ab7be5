//! Token files: one token on one line, private to their owner.

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::path::Path;

use super::{MAX_TOKEN_LEN, Token, TokenError, TokenSource};
use crate::config::Environment;

/// Reads the token in `path` for `env`.
///
/// On Unix the file is refused when:
/// - its owner is not the user running maildrift: a file another user owns can be rewritten by
///   them at any time, pointing maildrift at a token of their choosing;
/// - group or others have any permission on it (`mode & 0o077 != 0`): a readable token file
///   is a leaked admin password, and a writable one is the case above;
/// - a folder on the way to it, the one holding `path` or one above the file it resolves to,
///   can be written by group or others without the sticky bit: another user could swap the
///   file or a symlink for their own.
///
/// Symlinks are followed (a token kept in a private folder may be linked from elsewhere), but
/// the folders on both sides of the link are checked. Owner and mode are taken from the
/// opened file, so they are those of what is actually read.
pub fn read_token_file(env: &Environment, path: &Path) -> Result<Token, TokenError> {
    check_folders(env, path)?;
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
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let me = rustix::process::getuid().as_raw();
    if meta.uid() != me {
        return Err(TokenError::FileOwner {
            env: env.name.clone(),
            path: path.to_path_buf(),
            owner: meta.uid(),
            me,
        });
    }
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

/// Every folder from the root down to the one holding `path`, and down to the one holding the
/// file it resolves to, must be closed to writes by group and others unless it is sticky
/// (like /tmp, where only a file's owner may replace it). A missing file is left to the open
/// that follows, which says so more clearly.
#[cfg(unix)]
fn check_folders(env: &Environment, path: &Path) -> Result<(), TokenError> {
    use std::os::unix::fs::PermissionsExt;
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut folders: Vec<std::path::PathBuf> = Vec::new();
    if let Some(parent) = absolute.parent()
        && let Ok(real) = std::fs::canonicalize(parent)
    {
        folders.extend(real.ancestors().map(Path::to_path_buf));
    }
    if let Ok(target) = std::fs::canonicalize(&absolute)
        && let Some(parent) = target.parent()
    {
        folders.extend(parent.ancestors().map(Path::to_path_buf));
    }
    folders.sort();
    folders.dedup();
    for dir in folders {
        let Ok(meta) = std::fs::metadata(&dir) else {
            continue;
        };
        let mode = meta.permissions().mode() & 0o7777;
        let sticky = mode & 0o1000 != 0;
        if mode & 0o022 != 0 && !sticky {
            return Err(TokenError::FileFolderWritable {
                env: env.name.clone(),
                path: path.to_path_buf(),
                dir,
                mode,
            });
        }
    }
    Ok(())
}

// Windows has ACLs, not mode bits or owners as Unix has them; the user profile directory is
// private by default there, and checking ACLs properly needs a Windows API crate this project
// does not carry.
#[cfg(not(unix))]
fn check_private(_: &Environment, _: &Path, _: &std::fs::Metadata) -> Result<(), TokenError> {
    Ok(())
}

#[cfg(not(unix))]
fn check_folders(_: &Environment, _: &Path) -> Result<(), TokenError> {
    Ok(())
}
