//! Writing output files safely: never half-written, created with the user's umask.

use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename, so a
/// crash or a full disk never leaves a half-written file where a good one was.
///
/// A file that exists keeps its permissions (a baseline may be group-writable on purpose). A
/// new one is created as `open(2)` with mode 0666 would create it, so the user's umask
/// decides: 0644 under the usual 022, 0600 under 077. Reports and snapshots name relays, SMTP
/// users and addresses; who may read them is the user's call, not ours.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = filled_temp(path, bytes)?;
    if let Ok(meta) = std::fs::metadata(path) {
        let _ = std::fs::set_permissions(tmp.path(), meta.permissions());
    }
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Like [`atomic_write`], but never replaces anything: when `path` exists, or appears while
/// this runs, the error is [`std::io::ErrorKind::AlreadyExists`] and the file there is left
/// as it was. The final step is one no-clobber rename (or link), so there is no gap between
/// a check and the write for another writer to slip into.
pub fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = filled_temp(path, bytes)?;
    tmp.persist_noclobber(path).map_err(|e| e.error)?;
    Ok(())
}

/// A temporary file next to `path` holding `bytes`, flushed to disk, with the mode a new file
/// would get from the umask.
fn filled_temp(path: &Path, bytes: &[u8]) -> std::io::Result<tempfile::NamedTempFile> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".maildrift-").suffix(".tmp");
    // tempfile's own default is 0600 whatever the umask; 0666 passed to open(2) is narrowed
    // by the umask exactly as for any file the user's programs create.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder.tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    Ok(tmp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_content_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.txt");
        std::fs::write(&target, "old").unwrap();
        atomic_write(&target, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
        let entries: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(entries.len(), 1);
    }

    #[test]
    fn write_new_refuses_an_existing_file_and_leaves_it_and_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("record.json");
        write_new(&target, b"first").unwrap();
        let err = write_new(&target, b"second").unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "first");
        let entries: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(entries.len(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn an_existing_file_keeps_its_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("baseline.toml");
        std::fs::write(&target, "old").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o664)).unwrap();
        atomic_write(&target, b"new").unwrap();
        let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o664);
    }
}
