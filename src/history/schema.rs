//! The store's tables, and opening a file safely: pragmas, version check, creation.

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

use super::HistoryError;

/// `PRAGMA user_version` of the tables below. Bump it with every change to them, and teach
/// [`open`] to migrate older stores.
///
/// - 1: runs, run_environments, findings, setting_changes, health.
/// - 2: settings_state, so a nightly run compares each environment's settings with one row
///   instead of reading their whole change history (see [`super::settings`]); health
///   indexed by time instead of by environment.
pub const VERSION: i64 = 2;

/// `PRAGMA application_id`: "MDFT", so a foreign SQLite file is recognised as not ours.
const APPLICATION_ID: i64 = 0x4D44_4654;

/// How long a run waits for another one writing at the same moment.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// The tables of version 1.
const TABLES: &str = "
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,              -- check | merge
    generated_at INTEGER NOT NULL,   -- unix seconds
    tool_version TEXT NOT NULL,
    standard TEXT,
    fail_on TEXT NOT NULL,
    outcome TEXT NOT NULL,           -- clean | drift | failed
    environments INTEGER NOT NULL,
    findings INTEGER NOT NULL,
    new INTEGER,
    resolved INTEGER
);
CREATE INDEX runs_by_time ON runs (generated_at);
CREATE TABLE run_environments (
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    environment TEXT NOT NULL,
    state TEXT NOT NULL,             -- ok | failed
    error TEXT,
    release TEXT,
    checks TEXT NOT NULL,            -- check=state,... (DNS verdicts among them)
    dns TEXT,                        -- the DNS headline
    PRIMARY KEY (run_id, environment)
) WITHOUT ROWID;
CREATE INDEX run_environments_by_env ON run_environments (environment, state, run_id);
CREATE TABLE findings (
    id INTEGER PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    environment TEXT,                -- NULL: the standard itself
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    severity TEXT NOT NULL,
    category TEXT NOT NULL,
    subject TEXT,
    message TEXT NOT NULL,           -- as last seen
    since INTEGER NOT NULL,          -- first seen (unix seconds)
    first_run INTEGER NOT NULL,
    last_run INTEGER NOT NULL
);
CREATE INDEX findings_open ON findings (environment, last_run);
CREATE TABLE setting_changes (
    id INTEGER PRIMARY KEY,
    environment TEXT NOT NULL,
    name TEXT NOT NULL,
    run_id INTEGER NOT NULL,
    changed_at INTEGER NOT NULL,
    old_value TEXT,                  -- NULL: first sight
    new_value TEXT                   -- NULL: no longer reported
);
CREATE INDEX setting_changes_by_env ON setting_changes (environment, name, id);
CREATE TABLE health (
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    environment TEXT NOT NULL,
    measured_at INTEGER NOT NULL,
    window_days INTEGER NOT NULL,
    log_available INTEGER NOT NULL,
    failed INTEGER NOT NULL,
    message_sent INTEGER NOT NULL,
    mail_due_now INTEGER NOT NULL,
    mail_oldest_due_age_s INTEGER NOT NULL,
    mail_failing INTEGER NOT NULL,
    cron_age_s INTEGER,
    PRIMARY KEY (run_id, environment)
) WITHOUT ROWID;
CREATE INDEX health_by_env ON health (environment, measured_at);
";

/// Added in version 2: per environment, the settings as last recorded, so a run compares
/// with one row instead of the environment's whole change history; and the health figures
/// indexed by time, the way the monthly metrics read them (an index by environment took a
/// scattered page write per environment and run, and no query used it).
const VERSION_2: &str = "
DROP INDEX health_by_env;
CREATE INDEX health_by_time ON health (measured_at);
CREATE TABLE settings_state (
    environment TEXT PRIMARY KEY,
    settings TEXT NOT NULL,          -- JSON object: every value last recorded, by name
    last_change INTEGER              -- setting_changes.id of the latest change (not a first sight)
) WITHOUT ROWID;
";

/// Opens (creating when missing) the store at `path`, ready for concurrent use.
pub fn open(path: &Path) -> Result<Connection, HistoryError> {
    let conn = Connection::open(path).map_err(|source| HistoryError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    let sql = |e| HistoryError::from_sql(path, e);
    conn.busy_timeout(BUSY_TIMEOUT).map_err(sql)?;
    // WAL lets readers (history, page) run beside a writer; NORMAL is durable enough in WAL.
    // Two first runs switching a new file to WAL at once can get SQLITE_BUSY without SQLite
    // calling the busy handler (it would risk a deadlock), so that one step waits here.
    let started = std::time::Instant::now();
    loop {
        match conn.pragma_update(None, "journal_mode", "WAL") {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && started.elapsed() < BUSY_TIMEOUT =>
            {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            other => break other.map_err(sql)?,
        }
    }
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(sql)?;
    conn.pragma_update(None, "foreign_keys", true)
        .map_err(sql)?;
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(sql)?;
    if version > VERSION {
        return Err(HistoryError::Newer {
            path: path.to_path_buf(),
            found: version,
            supported: VERSION,
        });
    }
    if version > 0 {
        let id: i64 = conn
            .pragma_query_value(None, "application_id", |r| r.get(0))
            .map_err(sql)?;
        if id != APPLICATION_ID {
            return Err(HistoryError::Damaged {
                path: path.to_path_buf(),
                message: format!("application_id is {id:#x}, not maildrift's"),
            });
        }
    }
    if version < VERSION {
        upgrade(&conn, path)?;
    }
    Ok(conn)
}

/// Creates the tables in an empty file, or brings an older store up to [`VERSION`]. Two
/// runs at once can both get here: the immediate transaction makes one wait, and it then
/// finds the work done.
fn upgrade(conn: &Connection, path: &Path) -> Result<(), HistoryError> {
    let sql = |e| HistoryError::from_sql(path, e);
    conn.execute_batch("BEGIN IMMEDIATE").map_err(sql)?;
    let result = (|| {
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version >= VERSION {
            return Ok(());
        }
        if version == 0 {
            let tables: i64 =
                conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
            if tables > 0 {
                return Err(rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_NOTADB),
                    Some("the file has tables but no maildrift store version".into()),
                ));
            }
            conn.execute_batch(TABLES)?;
            conn.pragma_update(None, "application_id", APPLICATION_ID)?;
        }
        if version < 2 {
            conn.execute_batch(VERSION_2)?;
            super::settings::fill_state(conn)?;
        }
        conn.pragma_update(None, "user_version", VERSION)?;
        Ok(())
    })();
    match result {
        Ok(()) => conn.execute_batch("COMMIT").map_err(sql),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(sql(e))
        }
    }
}
