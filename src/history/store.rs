//! Recording runs and reading the previous one back.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::{HistoryError, schema, settings};
use crate::findings::{Finding, Severity};
use crate::report::changes::{Prior, PriorFinding};
use crate::report::{EnvState, PreviousRun, Report};

/// An open history store.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

/// What made a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunKind {
    Check,
    /// `report merge`: no settings (a report does not carry them).
    Merge,
}

impl RunKind {
    fn as_str(self) -> &'static str {
        match self {
            RunKind::Check => "check",
            RunKind::Merge => "merge",
        }
    }
}

/// One run to record.
pub struct RunInput<'a> {
    pub kind: RunKind,
    pub report: &'a Report,
    /// Per environment read, every setting's value (secrets as `set` / `not set`).
    pub settings: Vec<(String, Vec<(String, String)>)>,
}

/// A recorded run, as `maildrift history` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSummary {
    pub id: i64,
    pub kind: String,
    pub generated_at: jiff::Timestamp,
    pub outcome: String,
    pub environments: i64,
    pub findings: i64,
    pub new: Option<i64>,
    pub resolved: Option<i64>,
}

pub(super) fn ts(secs: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(secs).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

impl Store {
    /// Opens the store at `path`, creating it (and nothing else: the folder must exist).
    pub fn open(path: &Path) -> Result<Store, HistoryError> {
        Ok(Store {
            conn: schema::open(path)?,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(super) fn conn(&self) -> &Connection {
        &self.conn
    }

    fn err(&self) -> impl Fn(rusqlite::Error) -> HistoryError + '_ {
        |e| HistoryError::from_sql(&self.path, e)
    }

    /// The previous run as far as `report` is concerned: for each of its environments, the
    /// findings of the last run that read it; for the standard, the last run. `None` when the
    /// history has no run yet.
    pub fn prior(&self, report: &Report) -> Result<Option<Prior>, HistoryError> {
        let err = self.err();
        let last: Option<(i64, i64)> = self
            .conn
            .query_row(
                "SELECT id, generated_at FROM runs ORDER BY id DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(&err)?;
        let Some((last_id, mut newest)) = last else {
            return Ok(None);
        };
        let mut findings = self.open_findings(None, last_id)?;
        let mut prev_run = self
            .conn
            .prepare_cached(
                "SELECT r.id, r.generated_at FROM run_environments e JOIN runs r ON r.id = e.run_id
                 WHERE e.environment = ?1 AND e.state = 'ok' ORDER BY e.run_id DESC LIMIT 1",
            )
            .map_err(&err)?;
        for env in &report.environments {
            let prev: Option<(i64, i64)> = prev_run
                .query_row([&env.name], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
                .map_err(&err)?;
            if let Some((run, at)) = prev {
                findings.extend(self.open_findings(Some(&env.name), run)?);
                newest = newest.max(at);
            }
        }
        Ok(Some(Prior {
            run: PreviousRun {
                kind: "history".into(),
                path: self.path.display().to_string(),
                generated_at: ts(newest),
            },
            findings,
        }))
    }

    /// Findings of `environment` (the standard for `None`) still open at run `run`.
    fn open_findings(
        &self,
        environment: Option<&str>,
        run: i64,
    ) -> Result<Vec<PriorFinding>, HistoryError> {
        let mut q = self
            .conn
            .prepare_cached(
                "SELECT fingerprint, code, name, severity, category, environment, subject, message, since
                 FROM findings WHERE environment IS ?1 AND last_run = ?2 ORDER BY id",
            )
            .map_err(self.err())?;
        let rows = q
            .query_map(params![environment, run], |r| {
                Ok(PriorFinding {
                    fingerprint: r.get(0)?,
                    code: r.get(1)?,
                    name: r.get(2)?,
                    severity: r.get::<_, String>(3)?.parse().unwrap_or(Severity::Warning),
                    category: r.get(4)?,
                    environment: r.get(5)?,
                    subject: r.get(6)?,
                    message: r.get(7)?,
                    since: Some(ts(r.get(8)?)),
                })
            })
            .map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }

    /// Records one run in a single transaction; returns its id.
    pub fn record(&mut self, input: &RunInput<'_>) -> Result<i64, HistoryError> {
        let path = self.path.clone();
        let err = |e| HistoryError::from_sql(&path, e);
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(err)?;
        let id = record_in(&tx, input).map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(id)
    }

    /// Deletes runs older than `days` before `now`, with what only they referred to. The last
    /// known value of every setting is kept, so "changed from" stays answerable.
    pub fn prune(&mut self, days: u32, now: jiff::Timestamp) -> Result<usize, HistoryError> {
        let path = self.path.clone();
        let err = |e| HistoryError::from_sql(&path, e);
        let cutoff = now.as_second() - i64::from(days) * 86_400;
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(err)?;
        let deleted = tx
            .execute("DELETE FROM runs WHERE generated_at < ?1", [cutoff])
            .map_err(err)?;
        tx.execute(
            "DELETE FROM findings WHERE last_run < (SELECT coalesce(min(id), 0) FROM runs)",
            [],
        )
        .map_err(err)?;
        tx.execute(
            "DELETE FROM setting_changes WHERE changed_at < ?1 AND id NOT IN
               (SELECT max(id) FROM setting_changes GROUP BY environment, name)",
            [cutoff],
        )
        .map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(deleted)
    }

    /// Runs, newest first; only those that read `environment` when one is given.
    pub fn runs(
        &self,
        environment: Option<&str>,
        limit: usize,
    ) -> Result<Vec<RunSummary>, HistoryError> {
        let mut q = self
            .conn
            .prepare_cached(
                "SELECT id, kind, generated_at, outcome, environments, findings, new, resolved FROM runs
                 WHERE ?1 IS NULL OR id IN (SELECT run_id FROM run_environments WHERE environment = ?1)
                 ORDER BY id DESC LIMIT ?2",
            )
            .map_err(self.err())?;
        let rows = q
            .query_map(params![environment, limit as i64], |r| {
                Ok(RunSummary {
                    id: r.get(0)?,
                    kind: r.get(1)?,
                    generated_at: ts(r.get(2)?),
                    outcome: r.get(3)?,
                    environments: r.get(4)?,
                    findings: r.get(5)?,
                    new: r.get(6)?,
                    resolved: r.get(7)?,
                })
            })
            .map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }
}

/// An environment as its latest run saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvironmentLatest {
    pub environment: String,
    pub seen_at: jiff::Timestamp,
    pub ok: bool,
    /// `(check, state)` pairs, e.g. `("spf", "passed")`.
    pub checks: Vec<(String, String)>,
    pub dns: Option<String>,
}

impl Store {
    /// Every environment the history knows, as its latest run saw it, by name.
    pub fn environments_latest(&self) -> Result<Vec<EnvironmentLatest>, HistoryError> {
        let err = self.err();
        let mut q = self
            .conn
            .prepare_cached(
                // Latest run per environment first (one pass over the index), then one
                // primary-key lookup each: a correlated max() per row took seconds for a
                // year of a 500-site fleet.
                "SELECT e.environment, r.generated_at, e.state, e.checks, e.dns
                 FROM (SELECT environment, max(run_id) AS run_id FROM run_environments
                       GROUP BY environment) m
                 JOIN run_environments e ON e.run_id = m.run_id AND e.environment = m.environment
                 JOIN runs r ON r.id = e.run_id
                 ORDER BY e.environment",
            )
            .map_err(&err)?;
        let rows = q
            .query_map([], |r| {
                let checks: String = r.get(3)?;
                Ok(EnvironmentLatest {
                    environment: r.get(0)?,
                    seen_at: ts(r.get(1)?),
                    ok: r.get::<_, String>(2)? == "ok",
                    checks: checks
                        .split(',')
                        .filter_map(|c| c.split_once('='))
                        .map(|(a, b)| (a.to_string(), b.to_string()))
                        .collect(),
                    dns: r.get(4)?,
                })
            })
            .map_err(&err)?;
        rows.collect::<Result<_, _>>().map_err(&err)
    }

    /// The last recorded value of `setting` in `environment`.
    pub fn current_value(
        &self,
        environment: &str,
        setting: &str,
    ) -> Result<Option<String>, HistoryError> {
        let err = self.err();
        self.conn
            .query_row(
                "SELECT new_value FROM setting_changes WHERE environment = ?1 AND name = ?2
                 ORDER BY id DESC LIMIT 1",
                params![environment, setting],
                |r| r.get(0),
            )
            .optional()
            .map(Option::flatten)
            .map_err(&err)
    }
}

fn record_in(tx: &Transaction<'_>, input: &RunInput<'_>) -> rusqlite::Result<i64> {
    let report = input.report;
    let outcome = match report.outcome() {
        crate::report::Outcome::Clean => "clean",
        crate::report::Outcome::Drift => "drift",
        crate::report::Outcome::Failed => "failed",
    };
    tx.execute(
        "INSERT INTO runs (kind, generated_at, tool_version, standard, fail_on, outcome,
                           environments, findings, new, resolved)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            input.kind.as_str(),
            report.generated_at.as_second(),
            report.tool.version,
            report.standard.as_ref().map(|s| s.name.as_str()),
            report.fail_on.as_str(),
            outcome,
            report.environments.len() as i64,
            report.findings.len() as i64,
            report.changes.as_ref().map(|c| c.new as i64),
            report.changes.as_ref().map(|c| c.resolved.len() as i64),
        ],
    )?;
    let run = tx.last_insert_rowid();
    let at = report.generated_at.as_second();

    let mut env_row = tx.prepare_cached(
        "INSERT INTO run_environments (run_id, environment, state, error, release, checks, dns)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    // Grouped once: filtering the whole fleet's check runs per environment is quadratic.
    let mut checks_of: HashMap<&str, Vec<String>> = HashMap::new();
    for c in &report.checks {
        if let Some(env) = c.environment.as_deref() {
            checks_of
                .entry(env)
                .or_default()
                .push(format!("{}={}", c.check, check_state(c.state)));
        }
    }
    let mut dns_of: HashMap<&str, &str> = HashMap::new();
    for d in &report.dns {
        dns_of
            .entry(d.environment.as_str())
            .or_insert(d.headline.as_str());
    }
    for e in &report.environments {
        let checks = checks_of.remove(e.name.as_str()).unwrap_or_default();
        let dns = dns_of.get(e.name.as_str()).copied();
        env_row.execute(params![
            run,
            e.name,
            if e.state == EnvState::Ok {
                "ok"
            } else {
                "failed"
            },
            e.error,
            e.release,
            checks.join(","),
            dns
        ])?;
    }

    // Findings: extend the episodes still open at each group's previous run, open new ones.
    let mut groups: Vec<Option<&str>> = vec![None];
    groups.extend(
        report
            .environments
            .iter()
            .filter(|e| e.state == EnvState::Ok)
            .map(|e| Some(e.name.as_str())),
    );
    let mut findings_of: HashMap<Option<&str>, Vec<&Finding>> = HashMap::new();
    for f in &report.findings {
        findings_of
            .entry(f.environment.as_deref())
            .or_default()
            .push(f);
    }
    for env in groups {
        let prev: Option<i64> = match env {
            None => tx.query_row("SELECT max(id) FROM runs WHERE id < ?1", [run], |r| {
                r.get(0)
            })?,
            Some(name) => tx
                .prepare_cached(
                    "SELECT max(run_id) FROM run_environments
                     WHERE environment = ?1 AND state = 'ok' AND run_id < ?2",
                )?
                .query_row(params![name, run], |r| r.get(0))?,
        };
        let mut open: HashMap<String, Vec<i64>> = HashMap::new();
        if let Some(prev) = prev {
            let mut q = tx.prepare_cached(
                "SELECT id, fingerprint FROM findings WHERE environment IS ?1 AND last_run = ?2
                 ORDER BY id DESC",
            )?;
            let rows = q.query_map(params![env, prev], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })?;
            for row in rows {
                let (id, fp) = row?;
                open.entry(fp).or_default().push(id);
            }
        }
        for f in findings_of.remove(&env).unwrap_or_default() {
            match open.get_mut(&f.fingerprint).and_then(Vec::pop) {
                Some(id) => extend(tx, id, run, f, at)?,
                None => insert(tx, run, f, at)?,
            }
        }
    }

    settings::record(tx, run, at, &input.settings)?;

    let mut health = tx.prepare_cached(
        "INSERT OR REPLACE INTO health (run_id, environment, measured_at, window_days, log_available,
            failed, message_sent, mail_due_now, mail_oldest_due_age_s, mail_failing, cron_age_s)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    for h in &report.health {
        health.execute(params![
            run,
            h.environment,
            h.generated_at.as_second(),
            h.window_days,
            h.failed_mail.log_available,
            h.failed_mail.failed as i64,
            h.failed_mail.sent as i64,
            h.queue.mail.due_now as i64,
            h.queue.mail.oldest_due_age_seconds,
            h.queue.mail.failing as i64,
            h.cron.age_seconds,
        ])?;
    }
    Ok(run)
}

fn check_state(s: crate::report::CheckState) -> &'static str {
    use crate::report::CheckState;
    match s {
        CheckState::Passed => "passed",
        CheckState::Failed => "failed",
        CheckState::Errored => "errored",
        CheckState::Skipped => "skipped",
    }
}

fn extend(tx: &Transaction<'_>, id: i64, run: i64, f: &Finding, at: i64) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "UPDATE findings SET last_run = ?2, message = ?3, severity = ?4, since = ?5 WHERE id = ?1",
    )?
    .execute(params![
        id,
        run,
        f.message,
        f.severity.as_str(),
        f.since.map_or(at, |s| s.as_second())
    ])?;
    Ok(())
}

fn insert(tx: &Transaction<'_>, run: i64, f: &Finding, at: i64) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO findings (fingerprint, environment, code, name, severity, category, subject,
                               message, since, first_run, last_run)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)",
    )?
    .execute(params![
        f.fingerprint,
        f.environment,
        f.code,
        f.name,
        f.severity.as_str(),
        f.category,
        f.subject,
        f.message,
        f.since.map_or(at, |s| s.as_second()),
        run
    ])?;
    Ok(())
}
