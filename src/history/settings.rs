//! Settings over time: a row only when a value changes, and the questions asked of them
//! (what changed, when, from what to what).

use std::collections::HashMap;

use rusqlite::{Transaction, params};

use super::HistoryError;
use super::store::{Store, ts};

/// One change of one setting in one environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingChange {
    pub environment: String,
    pub setting: String,
    pub run_id: i64,
    pub changed_at: jiff::Timestamp,
    /// `None`: the first time the setting was recorded.
    pub from: Option<String>,
    /// `None`: the environment no longer reports it.
    pub to: Option<String>,
}

/// Records `values` of `env` at run `run`: a change row for every setting whose value differs
/// from the last one recorded, and for every recorded setting that is no longer reported.
pub(super) fn record(
    tx: &Transaction<'_>,
    run: i64,
    at: i64,
    env: &str,
    values: &[(String, String)],
) -> rusqlite::Result<()> {
    let mut last: HashMap<String, Option<String>> = HashMap::new();
    {
        let mut q = tx.prepare_cached(
            "SELECT name, new_value FROM setting_changes s WHERE environment = ?1
               AND id = (SELECT max(id) FROM setting_changes WHERE environment = s.environment AND name = s.name)",
        )?;
        let rows = q.query_map([env], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))?;
        for row in rows {
            let (name, value) = row?;
            last.insert(name, value);
        }
    }
    let mut insert = tx.prepare_cached(
        "INSERT INTO setting_changes (environment, name, run_id, changed_at, old_value, new_value)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for (name, value) in values {
        match last.remove(name) {
            Some(Some(old)) if old == *value => {}
            Some(old) => {
                insert.execute(params![env, name, run, at, old, value])?;
            }
            None => {
                insert.execute(params![env, name, run, at, None::<String>, value])?;
            }
        }
    }
    for (name, old) in last {
        if old.is_some() {
            insert.execute(params![env, name, run, at, old, None::<String>])?;
        }
    }
    Ok(())
}

impl Store {
    /// Changes (not first sights), newest first, filtered by environment and setting.
    pub fn setting_changes(
        &self,
        environment: Option<&str>,
        setting: Option<&str>,
        limit: usize,
    ) -> Result<Vec<SettingChange>, HistoryError> {
        let err = |e| HistoryError::from_sql(self.path(), e);
        let mut q = self
            .conn()
            .prepare_cached(
                "SELECT environment, name, run_id, changed_at, old_value, new_value FROM setting_changes
                 WHERE old_value IS NOT NULL AND (?1 IS NULL OR environment = ?1) AND (?2 IS NULL OR name = ?2)
                 ORDER BY id DESC LIMIT ?3",
            )
            .map_err(err)?;
        let rows = q
            .query_map(params![environment, setting, limit as i64], |r| {
                Ok(SettingChange {
                    environment: r.get(0)?,
                    setting: r.get(1)?,
                    run_id: r.get(2)?,
                    changed_at: ts(r.get(3)?),
                    from: r.get(4)?,
                    to: r.get(5)?,
                })
            })
            .map_err(err)?;
        rows.collect::<Result<_, _>>().map_err(err)
    }

    /// The latest change in `environment` as of this run: the settings whose `current` value
    /// differs from the last one recorded (changed now), or else the last recorded change.
    pub fn latest_changes(
        &self,
        environment: &str,
        current: &[(String, String)],
        now: jiff::Timestamp,
    ) -> Result<Vec<SettingChange>, HistoryError> {
        let err = |e| HistoryError::from_sql(self.path(), e);
        let mut q = self
            .conn()
            .prepare_cached(
                "SELECT name, new_value FROM setting_changes s WHERE environment = ?1
                   AND id = (SELECT max(id) FROM setting_changes WHERE environment = s.environment AND name = s.name)",
            )
            .map_err(err)?;
        let last: HashMap<String, Option<String>> = q
            .query_map([environment], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(err)?
            .collect::<Result<_, _>>()
            .map_err(err)?;
        if last.is_empty() {
            // Nothing recorded yet: every value would look "changed".
            return Ok(Vec::new());
        }
        let now_changed: Vec<SettingChange> = current
            .iter()
            .filter_map(|(name, value)| {
                let before = last.get(name).cloned().flatten();
                (before.as_deref() != Some(value.as_str())).then(|| SettingChange {
                    environment: environment.to_string(),
                    setting: name.clone(),
                    run_id: 0,
                    changed_at: now,
                    from: before,
                    to: Some(value.clone()),
                })
            })
            .collect();
        if !now_changed.is_empty() {
            return Ok(now_changed);
        }
        Ok(self.latest_change(environment)?.into_iter().collect())
    }

    /// The latest change of any setting in `environment`.
    pub fn latest_change(&self, environment: &str) -> Result<Option<SettingChange>, HistoryError> {
        Ok(self
            .setting_changes(Some(environment), None, 1)?
            .into_iter()
            .next())
    }

    /// When `setting` was first recorded in `environment` (for "unchanged since").
    pub fn first_seen(
        &self,
        environment: &str,
        setting: &str,
    ) -> Result<Option<(jiff::Timestamp, Option<String>)>, HistoryError> {
        use rusqlite::OptionalExtension;
        let err = |e| HistoryError::from_sql(self.path(), e);
        self.conn()
            .query_row(
                "SELECT changed_at, new_value FROM setting_changes WHERE environment = ?1 AND name = ?2
                 ORDER BY id LIMIT 1",
                params![environment, setting],
                |r| Ok((ts(r.get(0)?), r.get(1)?)),
            )
            .optional()
            .map_err(err)
    }
}
