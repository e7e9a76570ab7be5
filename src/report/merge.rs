//! Merging the JSON reports of shards (`check --shard I/N`) into one report.

use std::path::{Path, PathBuf};

use super::{CheckRun, ExceptionState, ExceptionStatus, READABLE_SCHEMAS, Report, SCHEMA, Summary};
use crate::findings;
use crate::location::Location;

/// Why reports could not be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("cannot read report {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}:{location}: not a maildrift JSON report: {message}", path.display())]
    Parse {
        path: PathBuf,
        location: Location,
        message: String,
    },
    #[error("{}: report schema `{found}` is not one this version reads ({}); produce it with `maildrift check --format json` of this version", path.display(), READABLE_SCHEMAS.join(", "))]
    Schema { path: PathBuf, found: String },
    #[error("{}: {message}", path.display())]
    Conflict { path: PathBuf, message: String },
    #[error("no reports to merge")]
    Empty,
}

/// Reads a JSON report written by `maildrift check --format json`.
pub fn read(path: &Path) -> Result<Report, MergeError> {
    let text = std::fs::read_to_string(path).map_err(|source| MergeError::Read {
        path: path.into(),
        source,
    })?;
    let parse_err = |e: serde_json::Error| MergeError::Parse {
        path: path.into(),
        location: Location {
            line: e.line().max(1),
            column: e.column().max(1),
        },
        message: e.to_string(),
    };
    let value: serde_json::Value = serde_json::from_str(&text).map_err(parse_err)?;
    match value.get("schema").and_then(|s| s.as_str()) {
        Some(s) if READABLE_SCHEMAS.contains(&s) => {}
        other => {
            return Err(MergeError::Schema {
                path: path.into(),
                found: other.unwrap_or("(none)").to_string(),
            });
        }
    }
    let mut report: Report = serde_json::from_value(value).map_err(parse_err)?;
    // Version 1 had no fingerprints, and a hand-edited file may carry stale ones.
    for f in &mut report.findings {
        f.refingerprint();
    }
    report.schema = SCHEMA.to_string();
    Ok(report)
}

/// Merges shard reports. Environments must not overlap; the standard and the threshold must
/// be the same in all of them (the shards of one run share them).
pub fn merge(reports: Vec<(PathBuf, Report)>) -> Result<Report, MergeError> {
    let all_changes: Vec<Option<super::Changes>> =
        reports.iter().map(|(_, r)| r.changes.clone()).collect();
    let mut iter = reports.into_iter();
    let (_, mut merged) = iter.next().ok_or(MergeError::Empty)?;
    for (path, r) in iter {
        let conflict = |message: String| MergeError::Conflict {
            path: path.clone(),
            message,
        };
        if r.fail_on != merged.fail_on {
            return Err(conflict(format!(
                "fail_on is {} here but {} in the first report; run all shards with the same --fail-on",
                r.fail_on, merged.fail_on
            )));
        }
        if r.standard.as_ref().map(|s| &s.name) != merged.standard.as_ref().map(|s| &s.name) {
            return Err(conflict(
                "checked against another baseline than the first report".into(),
            ));
        }
        if let Some(dup) = r
            .environments
            .iter()
            .find(|e| merged.environments.iter().any(|m| m.name == e.name))
        {
            return Err(conflict(format!(
                "environment `{}` is in more than one report; shards must not overlap",
                dup.name
            )));
        }
        merged.generated_at = merged.generated_at.max(r.generated_at);
        merged.environments.extend(r.environments);
        for c in r.checks {
            if !(c.environment.is_none() && merged.checks.contains(&c)) {
                merged.checks.push(c);
            }
        }
        for f in r.findings {
            // Findings about the standard and its exceptions appear in every shard; keep one.
            if !merged.findings.contains(&f) {
                merged.findings.push(f);
            }
        }
        merged.exceptions = merge_exceptions(std::mem::take(&mut merged.exceptions), r.exceptions);
        for e in r.evidence {
            if !merged.evidence.contains(&e) {
                merged.evidence.push(e);
            }
        }
        merged.dns.extend(r.dns);
    }
    // An exception for all environments that one shard found stale but another used is in use.
    let active: Vec<&ExceptionStatus> = merged
        .exceptions
        .iter()
        .filter(|e| e.state == ExceptionState::Active && e.environment.is_none())
        .collect();
    merged.findings.retain(|f| {
        !(f.code == crate::checks::exceptions::STALE.code
            && f.environment.is_none()
            && active
                .iter()
                .any(|e| f.subject.as_deref() == Some(&format!("exception: {}", e.setting))))
    });
    findings::sort(&mut merged.findings);
    merged.checks.sort_by(|a: &CheckRun, b: &CheckRun| {
        a.environment
            .cmp(&b.environment)
            .then(a.check.cmp(&b.check))
    });
    merged.changes = super::changes::merge(&all_changes);
    if let Some(c) = &mut merged.changes {
        // Findings about the standard appear in every shard but once in the merge: count again.
        let count = |s| {
            merged
                .findings
                .iter()
                .filter(|f| f.state == Some(s))
                .count()
        };
        c.new = count(findings::FindingState::New);
        c.persisting = count(findings::FindingState::Persisting);
    }
    merged.summary = Summary::of(&merged.findings, &merged.environments, merged.fail_on);
    Ok(merged)
}

/// The same exception seen by two shards: expired anywhere is expired; a global exception in
/// use anywhere is active; an environment's exception is judged by the shard that had it.
fn merge_exceptions(
    mut into: Vec<ExceptionStatus>,
    from: Vec<ExceptionStatus>,
) -> Vec<ExceptionStatus> {
    for e in from {
        let same = |x: &&mut ExceptionStatus| {
            x.setting == e.setting
                && x.environment == e.environment
                && x.value == e.value
                && x.expires == e.expires
        };
        match into.iter_mut().find(|x| same(x)) {
            None => into.push(e),
            Some(x) => {
                x.state = match (x.state, e.state) {
                    (ExceptionState::Expired, _) | (_, ExceptionState::Expired) => {
                        ExceptionState::Expired
                    }
                    (a, b) if e.environment.is_none() => {
                        if a == ExceptionState::Active || b == ExceptionState::Active {
                            ExceptionState::Active
                        } else {
                            ExceptionState::Stale
                        }
                    }
                    (ExceptionState::Stale, _) | (_, ExceptionState::Stale) => {
                        ExceptionState::Stale
                    }
                    _ => ExceptionState::Active,
                }
            }
        }
    }
    into
}

/// Whether environment `name` belongs to shard `index` (1-based) of `count`: a stable hash of
/// the name (FNV-1a), so the split never depends on config order or on which other sites exist.
pub fn in_shard(name: &str, index: u32, count: u32) -> bool {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.as_bytes() {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash % u64::from(count.max(1)) == u64::from(index.saturating_sub(1))
}

/// Parses `I/N` with 1 ≤ I ≤ N.
pub fn parse_shard(s: &str) -> Result<(u32, u32), String> {
    let (i, n) = s
        .split_once('/')
        .ok_or_else(|| format!("--shard {s:?}: expected I/N, e.g. 1/4"))?;
    let (i, n): (u32, u32) = match (i.trim().parse(), n.trim().parse()) {
        (Ok(i), Ok(n)) => (i, n),
        _ => {
            return Err(format!(
                "--shard {s:?}: expected whole numbers I/N, e.g. 1/4"
            ));
        }
    };
    if n == 0 || i == 0 || i > n {
        return Err(format!("--shard {s:?}: I must be between 1 and N"));
    }
    Ok((i, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_environment_is_in_exactly_one_shard() {
        for n in 1..6 {
            for env in ["production", "staging", "site-17", "x"] {
                assert_eq!((1..=n).filter(|i| in_shard(env, *i, n)).count(), 1);
            }
        }
    }

    #[test]
    fn shards_spread_a_fleet() {
        let in_first = (0..500)
            .filter(|i| in_shard(&format!("site-{i}"), 1, 4))
            .count();
        assert!((90..160).contains(&in_first), "{in_first}");
    }

    #[test]
    fn shard_syntax_is_checked() {
        assert_eq!(parse_shard("2/4"), Ok((2, 4)));
        assert!(parse_shard("0/4").is_err());
        assert!(parse_shard("5/4").is_err());
        assert!(parse_shard("a").is_err());
    }
}
