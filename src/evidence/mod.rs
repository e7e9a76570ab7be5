//! Test-mail evidence: one JSON record (`maildrift.evidence/1`) per test mail, kept in the
//! evidence folder (config `evidence_dir`, default `./evidence/`).
//!
//! A record says which site sent which test message to whom and whether the site's mailer
//! accepted it; the subject token lets the message be found in the relay's logs or the
//! recipient's mailbox. `maildrift check` reads the newest record per environment to prove
//! that mail leaves each site (codes MD901–MD904).

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Schema identifier every record carries.
pub const SCHEMA: &str = "maildrift.evidence/1";
/// The evidence folder when neither `--evidence-dir` nor `evidence_dir` in the config is given.
pub const DEFAULT_DIR: &str = "evidence";

/// The evidence folder: the command-line value, else `evidence_dir` from the config (already
/// relative to the config file), else `./evidence`.
pub fn resolve_dir(cli: Option<&Path>, config: &crate::config::Config) -> PathBuf {
    cli.map(Path::to_path_buf)
        .or_else(|| config.evidence_dir.clone())
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DIR))
}

/// Whether the site's mailer accepted the test message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SendResult {
    /// Moodle's mailer handed the message to the relay (or the PHP mail function).
    Sent,
    /// Moodle's mailer reported an error; `error` says which.
    Failed,
}

/// One test mail, as written by `maildrift testmail`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Always [`SCHEMA`].
    pub schema: String,
    pub environment: String,
    /// The site's wwwroot.
    pub url: String,
    /// The address the message was sent to (`divertallemailsto` may have redirected it; see
    /// `warnings`).
    pub recipient: String,
    /// Marker in the subject, e.g. `md-b89e99734644`: search the relay's log for it.
    pub token: String,
    pub subject: String,
    /// When the site sent it (the site's clock).
    pub sent_at: Timestamp,
    /// When maildrift wrote this record (maildrift's clock).
    pub recorded_at: Timestamp,
    pub result: SendResult,
    /// Moodle's mailer error when `result` is `failed`.
    pub error: Option<String>,
    /// Warnings from the plugin, as `code: message` (e.g. `diverted: ...`).
    #[serde(default)]
    pub warnings: Vec<String>,
    /// The maildrift version that wrote it.
    pub tool: String,
}

impl Record {
    /// `<env>-<UTC time>-<token>.json`, e.g. `production-20261129T101500Z-md-b89e99734644.json`.
    /// Characters other than ASCII letters, digits, `-` and `_` in the token become `_`.
    pub fn file_name(&self) -> String {
        let token: String = self
            .token
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let token = if token.is_empty() {
            "notoken".to_string()
        } else {
            token
        };
        format!(
            "{}-{}-{token}.json",
            self.environment,
            self.sent_at.strftime("%Y%m%dT%H%M%SZ")
        )
    }
}

/// Why the evidence folder could not be written or listed.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    #[error("cannot write evidence record {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read the evidence folder {}: {source}", path.display())]
    ReadDir {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl From<EvidenceError> for crate::Error {
    fn from(e: EvidenceError) -> Self {
        match e {
            EvidenceError::Write { path, source } => crate::Error::Write { path, source },
            other => crate::Error::Usage(other.to_string()),
        }
    }
}

/// Writes `record` into `dir` (created when missing) atomically, never replacing an existing
/// record. Returns the file's path.
pub fn write(dir: &Path, record: &Record) -> Result<PathBuf, EvidenceError> {
    let path = dir.join(record.file_name());
    let err = |source| EvidenceError::Write {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(err)?;
    let mut text =
        serde_json::to_string_pretty(record).map_err(|e| err(std::io::Error::other(e)))?;
    text.push('\n');
    // No "does it exist?" check first: another writer could create the file between the
    // check and the rename. The no-clobber rename itself refuses.
    crate::output::write_new(&path, text.as_bytes()).map_err(|e| {
        err(if e.kind() == std::io::ErrorKind::AlreadyExists {
            std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "a record of that name exists; it was left as it is",
            )
        } else {
            e
        })
    })?;
    Ok(path)
}

/// A record and the file it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub path: PathBuf,
    pub record: Record,
}

/// A file in the evidence folder that is not a usable record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: PathBuf,
    /// The environment its name suggests (`<env>-<digit>...`), if any.
    pub environment: Option<String>,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

/// Every record in an evidence folder, and the files that could not be used.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evidence {
    pub dir: PathBuf,
    pub records: Vec<Stored>,
    pub problems: Vec<Problem>,
}

/// Reads every `*.json` file in `dir`. A missing folder is empty evidence, not an error; a bad
/// file becomes a [`Problem`] and does not stop the others being read.
pub fn load(dir: &Path) -> Result<Evidence, EvidenceError> {
    let mut ev = Evidence {
        dir: dir.to_path_buf(),
        ..Default::default()
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ev),
        Err(source) => {
            return Err(EvidenceError::ReadDir {
                path: dir.to_path_buf(),
                source,
            });
        }
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|x| x == "json")
                && !p
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with('.'))
        })
        .collect();
    paths.sort();
    for path in paths {
        match read_record(&path) {
            Ok(record) => ev.records.push(Stored { path, record }),
            Err(message) => {
                let environment = guess_environment(&path);
                ev.problems.push(Problem {
                    path,
                    environment,
                    message,
                });
            }
        }
    }
    Ok(ev)
}

fn read_record(path: &Path) -> Result<Record, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("not JSON ({e})"))?;
    match value.get("schema").and_then(|s| s.as_str()) {
        Some(SCHEMA) => {}
        Some(other) => {
            return Err(format!(
                "schema is `{other}`; this maildrift reads `{SCHEMA}`"
            ));
        }
        None => return Err(format!("no `schema` field (expected `{SCHEMA}`)")),
    }
    let record: Record = serde_json::from_value(value).map_err(|e| e.to_string())?;
    if !crate::config::valid_env_name(&record.environment) {
        return Err(format!(
            "`{}` is not a valid environment name",
            record.environment
        ));
    }
    Ok(record)
}

/// `production-2026...json` → `production`: the name up to the `-` before the time stamp.
fn guess_environment(path: &Path) -> Option<String> {
    let name = path.file_stem()?.to_str()?;
    let bytes = name.as_bytes();
    (1..bytes.len())
        .filter(|&i| bytes[i - 1] == b'-' && bytes[i].is_ascii_digit())
        .map(|i| &name[..i - 1])
        .find(|env| crate::config::valid_env_name(env))
        .map(str::to_string)
}

impl Evidence {
    fn of<'a>(&'a self, env: &str) -> impl Iterator<Item = &'a Stored> + use<'a> {
        let env = env.to_string();
        self.records
            .iter()
            .filter(move |s| s.record.environment == env)
    }

    /// The newest record of `env` by send time, whatever its result.
    pub fn latest(&self, env: &str) -> Option<&Stored> {
        self.of(env)
            .max_by_key(|s| (s.record.sent_at, s.record.recorded_at))
    }

    /// The newest record of `env` whose test mail was sent.
    pub fn latest_success(&self, env: &str) -> Option<&Stored> {
        self.of(env)
            .filter(|s| s.record.result == SendResult::Sent)
            .max_by_key(|s| (s.record.sent_at, s.record.recorded_at))
    }

    /// Unusable files whose name points at `env`.
    pub fn problems_for<'a>(&'a self, env: &'a str) -> impl Iterator<Item = &'a Problem> + 'a {
        self.problems
            .iter()
            .filter(move |p| p.environment.as_deref() == Some(env))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn record(env: &str, sent_at: &str, result: SendResult) -> Record {
        let sent_at: Timestamp = sent_at.parse().unwrap();
        Record {
            schema: SCHEMA.into(),
            environment: env.into(),
            url: "https://moodle.example.edu".into(),
            recipient: "postmaster@example.edu".into(),
            token: format!("md-{:012x}", sent_at.as_second()),
            subject: "maildrift test".into(),
            sent_at,
            recorded_at: sent_at,
            result,
            error: (result == SendResult::Failed)
                .then(|| "SMTP Error: Could not connect to SMTP host.".into()),
            warnings: vec![],
            tool: "maildrift 0.1.0".into(),
        }
    }

    #[test]
    fn file_names_carry_env_utc_time_and_token() {
        let mut r = record("prod-eu", "2026-11-29T10:15:00Z", SendResult::Sent);
        r.token = "md-b89e/99734644".into();
        assert_eq!(
            r.file_name(),
            "prod-eu-20261129T101500Z-md-b89e_99734644.json"
        );
        assert_eq!(
            guess_environment(Path::new(&r.file_name())).as_deref(),
            Some("prod-eu")
        );
    }

    #[test]
    fn write_then_load_finds_the_newest_per_environment_and_names_bad_files() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("evidence");
        write(
            &d,
            &record("production", "2026-10-01T08:00:00Z", SendResult::Sent),
        )
        .unwrap();
        write(
            &d,
            &record("production", "2026-11-01T08:00:00Z", SendResult::Failed),
        )
        .unwrap();
        write(
            &d,
            &record("staging", "2026-11-02T08:00:00Z", SendResult::Sent),
        )
        .unwrap();
        std::fs::write(d.join("production-20261103T000000Z-md-x.json"), "{ broken").unwrap();
        std::fs::write(d.join("notes.txt"), "ignored").unwrap();
        let ev = load(&d).unwrap();
        assert_eq!(ev.records.len(), 3);
        assert_eq!(
            ev.latest("production").unwrap().record.result,
            SendResult::Failed
        );
        assert_eq!(
            ev.latest_success("production")
                .unwrap()
                .record
                .sent_at
                .to_string(),
            "2026-10-01T08:00:00Z"
        );
        assert_eq!(ev.problems.len(), 1);
        let p = &ev.problems[0];
        assert_eq!(p.environment.as_deref(), Some("production"));
        assert!(
            p.to_string()
                .contains("production-20261103T000000Z-md-x.json"),
            "{p}"
        );
        assert_eq!(ev.problems_for("staging").count(), 0);
    }

    #[test]
    fn writing_never_replaces_a_record() {
        let dir = tempfile::tempdir().unwrap();
        let r = record("production", "2026-10-01T08:00:00Z", SendResult::Sent);
        write(dir.path(), &r).unwrap();
        assert!(write(dir.path(), &r).is_err());
    }

    #[test]
    fn concurrent_writers_of_one_record_name_never_overwrite_each_other() {
        // Several writers race for one file name (same environment, second and token): exactly
        // one wins, the others are told, and the file holds the winner's record whole.
        let dir = tempfile::tempdir().unwrap();
        let writers = 8;
        let barrier = std::sync::Barrier::new(writers);
        let results: Vec<(String, bool)> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..writers)
                .map(|i| {
                    let barrier = &barrier;
                    let dir = dir.path();
                    scope.spawn(move || {
                        let mut r = record("production", "2026-10-01T08:00:00Z", SendResult::Sent);
                        r.recipient = format!("writer{i}@example.edu");
                        barrier.wait();
                        let ok = write(dir, &r).is_ok();
                        (r.recipient, ok)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let winners: Vec<&String> = results
            .iter()
            .filter(|(_, ok)| *ok)
            .map(|(r, _)| r)
            .collect();
        assert_eq!(winners.len(), 1, "{results:?}");
        let ev = load(dir.path()).unwrap();
        assert_eq!(ev.records.len(), 1);
        assert_eq!(&ev.records[0].record.recipient, winners[0]);
        assert!(ev.problems.is_empty(), "{:?}", ev.problems);
    }

    #[test]
    fn missing_folder_is_empty_evidence_and_wrong_schema_is_a_problem() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load(&dir.path().join("nope")).unwrap().records.is_empty());
        std::fs::write(
            dir.path().join("x.json"),
            r#"{"schema":"maildrift.snapshot/1"}"#,
        )
        .unwrap();
        let ev = load(dir.path()).unwrap();
        assert!(
            ev.problems[0].message.contains("maildrift.snapshot/1"),
            "{:?}",
            ev.problems
        );
    }
}
