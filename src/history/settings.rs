//! Settings over time: a row only when a value changes, and the questions asked of them
//! (what changed, when, from what to what).

use std::collections::{BTreeMap, HashMap};

use rusqlite::{Connection, OptionalExtension, Transaction, params};

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

/// An environment's settings as last recorded: a JSON object by name, sorted, so that two
/// equal sets of values are equal texts and an unchanged environment costs one comparison.
fn encode(values: &[(String, String)]) -> String {
    let sorted: BTreeMap<&str, &str> = values
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    serde_json::to_string(&sorted).unwrap_or_default()
}

fn decode(text: &str) -> rusqlite::Result<BTreeMap<String, String>> {
    serde_json::from_str(text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// Every environment's recorded settings (as [`encode`]d) and latest change id.
fn states(conn: &Connection) -> rusqlite::Result<HashMap<String, (String, Option<i64>)>> {
    let mut q =
        conn.prepare_cached("SELECT environment, settings, last_change FROM settings_state")?;
    let rows = q.query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))?;
    rows.collect()
}

/// Records the settings of every environment read at run `run`: a change row for every
/// setting whose value differs from the last one recorded, and for every recorded setting that
/// is no longer reported. An environment whose settings are as last recorded (most of them,
/// most nights) costs one text comparison.
pub(super) fn record(
    tx: &Transaction<'_>,
    run: i64,
    at: i64,
    settings: &[(String, Vec<(String, String)>)],
) -> rusqlite::Result<()> {
    if settings.is_empty() {
        return Ok(());
    }
    // Read inside the write transaction: a run recorded meanwhile may have changed them.
    let mut all = states(tx)?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO setting_changes (environment, name, run_id, changed_at, old_value, new_value)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    let mut save = tx.prepare_cached(
        "INSERT INTO settings_state (environment, settings, last_change) VALUES (?1, ?2, ?3)
         ON CONFLICT (environment) DO UPDATE SET settings = excluded.settings,
                                                 last_change = excluded.last_change",
    )?;
    for (env, values) in settings {
        let text = encode(values);
        let (before, mut last_change) = match all.remove(env) {
            Some((before, _)) if before == text => continue,
            Some((before, id)) => (decode(&before)?, id),
            None => (BTreeMap::new(), None),
        };
        let mut last = before;
        for (name, value) in values {
            match last.remove(name) {
                Some(old) if old == *value => {}
                Some(old) => {
                    insert.execute(params![env, name, run, at, old, value])?;
                    last_change = Some(tx.last_insert_rowid());
                }
                None => {
                    insert.execute(params![env, name, run, at, None::<String>, value])?;
                }
            }
        }
        for (name, old) in last {
            insert.execute(params![env, name, run, at, old, None::<String>])?;
            last_change = Some(tx.last_insert_rowid());
        }
        save.execute(params![env, text, last_change])?;
    }
    Ok(())
}

/// Fills `settings_state` from the change rows of a store made before it existed (version 1).
pub(super) fn fill_state(conn: &Connection) -> rusqlite::Result<()> {
    let mut values: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    {
        // SQLite takes the bare `new_value` from the row holding each group's max(id).
        let mut q = conn.prepare(
            "SELECT environment, name, new_value, max(id) FROM setting_changes
             GROUP BY environment, name",
        )?;
        let mut rows = q.query([])?;
        while let Some(r) = rows.next()? {
            let env = values.entry(r.get(0)?).or_default();
            if let Some(v) = r.get::<_, Option<String>>(2)? {
                env.insert(r.get(1)?, v);
            }
        }
    }
    let last_change: HashMap<String, i64> = conn
        .prepare(
            "SELECT environment, max(id) FROM setting_changes WHERE old_value IS NOT NULL
             GROUP BY environment",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut save = conn.prepare(
        "INSERT INTO settings_state (environment, settings, last_change) VALUES (?1, ?2, ?3)",
    )?;
    for (env, vals) in values {
        let text = serde_json::to_string(&vals).unwrap_or_default();
        save.execute(params![env, text, last_change.get(&env)])?;
    }
    Ok(())
}

/// A `setting_changes` row selected as `environment, name, run_id, changed_at, old_value,
/// new_value`.
fn change_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SettingChange> {
    Ok(SettingChange {
        environment: r.get(0)?,
        setting: r.get(1)?,
        run_id: r.get(2)?,
        changed_at: ts(r.get(3)?),
        from: r.get(4)?,
        to: r.get(5)?,
    })
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
        // One statement per filter combination rather than `?1 IS NULL OR environment = ?1`,
        // which SQLite cannot answer from the index: that form scanned every change ever
        // recorded for each environment's latest change.
        let sql = match (environment.is_some(), setting.is_some()) {
            (true, true) => {
                "SELECT environment, name, run_id, changed_at, old_value, new_value FROM setting_changes
                 WHERE environment = ?1 AND name = ?2 AND old_value IS NOT NULL
                 ORDER BY id DESC LIMIT ?3"
            }
            (true, false) => {
                "SELECT environment, name, run_id, changed_at, old_value, new_value FROM setting_changes
                 WHERE environment = ?1 AND ?2 IS NULL AND old_value IS NOT NULL
                 ORDER BY id DESC LIMIT ?3"
            }
            (false, true) => {
                "SELECT environment, name, run_id, changed_at, old_value, new_value FROM setting_changes
                 WHERE ?1 IS NULL AND name = ?2 AND old_value IS NOT NULL
                 ORDER BY id DESC LIMIT ?3"
            }
            (false, false) => {
                "SELECT environment, name, run_id, changed_at, old_value, new_value FROM setting_changes
                 WHERE ?1 IS NULL AND ?2 IS NULL AND old_value IS NOT NULL
                 ORDER BY id DESC LIMIT ?3"
            }
        };
        let mut q = self.conn().prepare_cached(sql).map_err(err)?;
        let rows = q
            .query_map(params![environment, setting, limit as i64], change_row)
            .map_err(err)?;
        rows.collect::<Result<_, _>>().map_err(err)
    }

    /// Per environment read, its latest change as of this run: the settings whose `current`
    /// value differs from the last one recorded (changed now), or else the last recorded
    /// change. An environment with nothing recorded yet has none (every value would look
    /// "changed").
    pub fn latest_changes(
        &self,
        current: &[(String, Vec<(String, String)>)],
        now: jiff::Timestamp,
    ) -> Result<Vec<SettingChange>, HistoryError> {
        let err = |e| HistoryError::from_sql(self.path(), e);
        let mut all = states(self.conn()).map_err(err)?;
        let mut by_id = self
            .conn()
            .prepare_cached(
                "SELECT environment, name, run_id, changed_at, old_value, new_value
                 FROM setting_changes WHERE id = ?1",
            )
            .map_err(err)?;
        let mut out = Vec::new();
        for (environment, values) in current {
            let Some((before, last_change)) = all.remove(environment) else {
                continue;
            };
            if before == encode(values) {
                let Some(id) = last_change else { continue };
                let recorded = by_id.query_row([id], change_row).optional().map_err(err)?;
                match recorded {
                    Some(c) => out.push(c),
                    // Retention removed that row: ask the change rows.
                    None => out.extend(self.latest_change(environment)?),
                }
                continue;
            }
            let mut before = decode(&before).map_err(err)?;
            let changed_now = |setting: &str, from, to| SettingChange {
                environment: environment.clone(),
                setting: setting.to_string(),
                run_id: 0,
                changed_at: now,
                from,
                to,
            };
            for (name, value) in values {
                let was = before.remove(name);
                if was.as_ref() != Some(value) {
                    out.push(changed_now(name, was, Some(value.clone())));
                }
            }
            // Recorded before, no longer reported.
            for (name, was) in before {
                out.push(changed_now(&name, Some(was), None));
            }
        }
        Ok(out)
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
