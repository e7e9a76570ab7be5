//! Merging the JSON reports of shards (`check --shard I/N`) into one report.

use std::path::{Path, PathBuf};

use super::{
    CheckRun, CheckState, ExceptionState, ExceptionStatus, READABLE_SCHEMAS, Report, SCHEMA,
    Summary,
};
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
            // Checks of the whole run (the standard) are in every shard: keep one record,
            // judged below on the merged findings.
            let seen = c.environment.is_none()
                && merged
                    .checks
                    .iter()
                    .any(|m| m.environment.is_none() && m.check == c.check);
            if !seen {
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
        merged.health.extend(r.health);
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
    // A shard judged the run-wide checks on its own findings (e.g. an exception stale there but
    // used in another shard); judge them again on the merged ones, as `audit::build` does.
    for run in merged.checks.iter_mut().filter(|c| {
        c.environment.is_none() && matches!(c.state, CheckState::Passed | CheckState::Failed)
    }) {
        let failing = merged.findings.iter().any(|f| {
            f.environment.is_none() && f.category == run.check && f.severity >= merged.fail_on
        });
        run.state = if failing {
            CheckState::Failed
        } else {
            CheckState::Passed
        };
    }
    // Shards know nothing of the config's order; by name, the merged report is the same
    // whatever order the shards were given in (and equals an unsplit run of a sorted config).
    merged.environments.sort_by(|a, b| a.name.cmp(&b.name));
    merged.dns.sort_by(|a, b| a.environment.cmp(&b.environment));
    merged
        .health
        .sort_by(|a, b| a.environment.cmp(&b.environment));
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

    /// The golden report (two environments, global findings, exceptions, DNS) with a health
    /// entry per environment.
    fn full() -> Report {
        let mut r: Report =
            serde_json::from_str(include_str!("../../tests/golden/report.json")).unwrap();
        let h: crate::moodle::protocol::MailHealth = serde_json::from_str(include_str!(
            "../../tests/fixtures/moodle/get_mail_health.json"
        ))
        .unwrap();
        r.health = r
            .environments
            .iter()
            .map(|e| {
                crate::health::EnvironmentHealth::from_mail_health(
                    &e.name,
                    &h,
                    jiff::Timestamp::UNIX_EPOCH,
                )
            })
            .collect();
        r
    }

    /// What the shard of `full()` holding only `envs` would have reported: their own parts and
    /// every global part (global findings, checks and exceptions appear in each shard).
    fn shard(envs: &[&str], generated_at: i64) -> (PathBuf, Report) {
        let mut r = full();
        let keep = |e: &Option<String>| e.as_deref().is_none_or(|e| envs.contains(&e));
        r.environments.retain(|e| envs.contains(&e.name.as_str()));
        r.findings.retain(|f| keep(&f.environment));
        r.checks.retain(|c| keep(&c.environment));
        r.exceptions.retain(|x| keep(&x.environment));
        r.dns.retain(|d| envs.contains(&d.environment.as_str()));
        r.health.retain(|h| envs.contains(&h.environment.as_str()));
        r.generated_at = jiff::Timestamp::from_second(generated_at).unwrap();
        r.summary = Summary::of(&r.findings, &r.environments, r.fail_on);
        (PathBuf::from(format!("shard-{}.json", envs.join("+"))), r)
    }

    fn names(r: &Report) -> Vec<String> {
        let mut n: Vec<String> = r.environments.iter().map(|e| e.name.clone()).collect();
        n.sort();
        n
    }

    #[test]
    fn merging_shards_keeps_every_shards_environments_and_their_parts() {
        let whole = full();
        for order in [["staging", "production"], ["production", "staging"]] {
            let merged = merge(vec![
                shard(&[order[0]], 1_700_000_000),
                shard(&[order[1]], 1_700_000_100),
            ])
            .unwrap();
            let listed: Vec<&str> = merged
                .environments
                .iter()
                .map(|e| e.name.as_str())
                .collect();
            assert_eq!(listed, ["production", "staging"], "listed by name");
            let mut want = whole.findings.clone();
            findings::sort(&mut want);
            assert_eq!(merged.findings, want);
            assert_eq!(merged.summary, whole.summary);
            assert_eq!(merged.checks.len(), whole.checks.len());
            for c in &whole.checks {
                assert!(merged.checks.contains(c), "{c:?} lost");
            }
            assert_eq!(merged.exceptions.len(), whole.exceptions.len());
            for x in &whole.exceptions {
                assert!(merged.exceptions.contains(x), "{x:?} lost");
            }
            let mut dns: Vec<&str> = merged.dns.iter().map(|d| d.environment.as_str()).collect();
            dns.sort();
            assert_eq!(dns, ["production", "staging"]);
            let mut health: Vec<&str> = merged
                .health
                .iter()
                .map(|h| h.environment.as_str())
                .collect();
            health.sort();
            assert_eq!(health, ["production", "staging"], "health of a shard lost");
            assert_eq!(merged.evidence, whole.evidence);
            assert_eq!(merged.generated_at.as_second(), 1_700_000_100);
            assert_eq!(merged.outcome(), whole.outcome());
        }
    }

    #[test]
    fn an_empty_shard_and_a_third_shard_merge_too() {
        let (path, mut empty) = shard(&[], 1_700_000_200);
        empty.findings.retain(|f| f.environment.is_none());
        let merged = merge(vec![
            shard(&["staging"], 1),
            (path, empty),
            shard(&["production"], 2),
        ])
        .unwrap();
        assert_eq!(names(&merged), ["production", "staging"]);
        assert_eq!(merged.summary, full().summary);
        assert_eq!(merged.generated_at.as_second(), 1_700_000_200);
        // The global finding (MD001) of three shards is kept once.
        assert_eq!(
            merged
                .findings
                .iter()
                .filter(|f| f.environment.is_none())
                .count(),
            full()
                .findings
                .iter()
                .filter(|f| f.environment.is_none())
                .count()
        );
    }

    #[test]
    fn a_single_report_merges_to_itself() {
        let (_, r) = shard(&["staging", "production"], 5);
        let merged = merge(vec![(PathBuf::from("only.json"), r.clone())]).unwrap();
        assert_eq!(names(&merged), names(&r));
        assert_eq!(merged.summary, r.summary);
        assert!(matches!(merge(Vec::new()), Err(MergeError::Empty)));
    }

    #[test]
    fn overlapping_or_mismatched_shards_are_refused_naming_the_file() {
        let err = merge(vec![shard(&["staging"], 1), shard(&["staging"], 2)]).unwrap_err();
        assert!(matches!(err, MergeError::Conflict { .. }), "{err}");
        assert!(err.to_string().contains("shard-staging.json"), "{err}");
        assert!(err.to_string().contains("`staging`"), "{err}");

        let (path, mut other) = shard(&["production"], 2);
        other.fail_on = crate::findings::Severity::Info;
        let err = merge(vec![shard(&["staging"], 1), (path, other)]).unwrap_err();
        assert!(err.to_string().contains("fail_on"), "{err}");

        let (path, mut other) = shard(&["production"], 2);
        if let Some(s) = other.standard.as_mut() {
            s.name = "another standard".into();
        }
        let err = merge(vec![shard(&["staging"], 1), (path, other)]).unwrap_err();
        assert!(err.to_string().contains("baseline"), "{err}");

        let (path, mut other) = shard(&["production"], 2);
        other.standard = None;
        assert!(merge(vec![shard(&["staging"], 1), (path, other)]).is_err());
    }

    fn exception(environment: Option<&str>, state: ExceptionState) -> ExceptionStatus {
        ExceptionStatus {
            setting: "smtphosts".into(),
            environment: environment.map(String::from),
            value: Some("relay:25".into()),
            reason: "migration".into(),
            owner: "ops".into(),
            expires: jiff::civil::date(2030, 1, 1),
            ticket: None,
            state,
        }
    }

    #[test]
    fn the_same_exception_from_two_shards_is_judged_once() {
        use ExceptionState::{Active, Expired, Stale};
        let global = |a, b| merge_exceptions(vec![exception(None, a)], vec![exception(None, b)]);
        // Used by any shard: active. Used by none: stale. Expired anywhere: expired.
        assert_eq!(global(Stale, Active)[0].state, Active);
        assert_eq!(global(Active, Stale)[0].state, Active);
        assert_eq!(global(Stale, Stale)[0].state, Stale);
        assert_eq!(global(Active, Active)[0].state, Active);
        assert_eq!(global(Active, Expired)[0].state, Expired);
        assert_eq!(global(Expired, Active)[0].state, Expired);
        assert_eq!(global(Stale, Active).len(), 1);
        let env = |a, b| {
            merge_exceptions(
                vec![exception(Some("prod"), a)],
                vec![exception(Some("prod"), b)],
            )
        };
        assert_eq!(env(Active, Stale)[0].state, Stale);
        assert_eq!(env(Stale, Active)[0].state, Stale);
        assert_eq!(env(Active, Active)[0].state, Active);
        assert_eq!(env(Expired, Stale)[0].state, Expired);
        // Different exceptions are both kept.
        let both = merge_exceptions(
            vec![exception(Some("prod"), Active)],
            vec![exception(Some("staging"), Active)],
        );
        assert_eq!(both.len(), 2);
    }

    #[test]
    fn a_global_exception_stale_in_one_shard_but_used_in_another_is_not_reported_stale() {
        let stale_finding = |r: &mut Report| {
            r.findings.push(
                crate::findings::Finding::new(
                    &crate::checks::exceptions::STALE,
                    "The exception for smtphosts matched nothing.",
                )
                .subject("exception: smtphosts"),
            );
            r.exceptions.push(exception(None, ExceptionState::Stale));
        };
        let (p1, mut a) = shard(&["staging"], 1);
        stale_finding(&mut a);
        let (p2, mut b) = shard(&["production"], 2);
        b.exceptions.push(exception(None, ExceptionState::Active));
        let merged = merge(vec![(p1.clone(), a.clone()), (p2, b)]).unwrap();
        assert!(
            !merged
                .findings
                .iter()
                .any(|f| f.code == crate::checks::exceptions::STALE.code),
            "{:?}",
            merged.findings
        );
        // One record of the run-wide `standard` check, judged on the merged findings: the
        // stale finding (a warning, at the golden report's fail_on) is gone, and so is the
        // overdue review when the standard was reviewed.
        let standard: Vec<&CheckRun> = merged
            .checks
            .iter()
            .filter(|c| c.environment.is_none())
            .collect();
        assert_eq!(standard.len(), 1, "{standard:?}");
        assert_eq!(standard[0].check, "standard");
        let reviewed = |mut r: Report| {
            r.findings.retain(|f| f.code != "MD001");
            r
        };
        // Shard A judged `standard` failed on its stale finding; B used the exception.
        let mut a2 = reviewed(a.clone());
        let (p2b, b2) = shard(&["production"], 2);
        let mut b2 = reviewed(b2);
        b2.exceptions.push(exception(None, ExceptionState::Active));
        for c in a2.checks.iter_mut().filter(|c| c.environment.is_none()) {
            c.state = CheckState::Failed;
        }
        let merged = merge(vec![(p1.clone(), a2), (p2b, b2)]).unwrap();
        let standard: Vec<&CheckRun> = merged
            .checks
            .iter()
            .filter(|c| c.environment.is_none())
            .collect();
        assert_eq!(standard.len(), 1, "{standard:?}");
        assert_eq!(standard[0].state, CheckState::Passed, "{standard:?}");
        // Stale in every shard: the finding stays.
        let (p2, mut b) = shard(&["production"], 2);
        stale_finding(&mut b);
        let merged = merge(vec![(p1, a), (p2, b)]).unwrap();
        assert_eq!(
            merged
                .findings
                .iter()
                .filter(|f| f.code == crate::checks::exceptions::STALE.code)
                .count(),
            1
        );
    }

    #[test]
    fn shard_syntax_is_checked() {
        assert_eq!(parse_shard("2/4"), Ok((2, 4)));
        assert!(parse_shard("0/4").is_err());
        assert!(parse_shard("5/4").is_err());
        assert!(parse_shard("a").is_err());
    }

    #[test]
    fn a_report_of_an_unknown_schema_is_refused_naming_the_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shard-1.json");
        let mut value: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/golden/report.json")).unwrap();
        std::fs::write(&path, value.to_string()).unwrap();
        read(&path).expect("the golden report reads");
        value["schema"] = "maildrift.report/9".into();
        std::fs::write(&path, value.to_string()).unwrap();
        match read(&path) {
            Err(MergeError::Schema { found, .. }) => assert_eq!(found, "maildrift.report/9"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn run_wide_checks_are_kept_once_each_even_when_only_a_later_shard_has_one() {
        // E.g. shards from two maildrift versions, the later one with a new run-wide check.
        let first = shard(&["staging"], 1_700_000_000);
        let mut second = shard(&["production"], 1_700_000_100);
        second.1.checks.push(CheckRun {
            check: "future".into(),
            environment: None,
            state: CheckState::Passed,
            detail: None,
        });
        let merged = merge(vec![first, second]).unwrap();
        let mut run_wide: Vec<&str> = merged
            .checks
            .iter()
            .filter(|c| c.environment.is_none())
            .map(|c| c.check.as_str())
            .collect();
        run_wide.sort_unstable();
        assert_eq!(run_wide, ["future", "standard"]);
    }

    #[test]
    fn new_and_persisting_are_counted_again_over_the_merged_findings() {
        // Global findings are new, the environments' own persist; each shard counted the
        // global ones too, but the merge holds them once.
        let with_states = |(path, mut r): (PathBuf, Report)| {
            for f in &mut r.findings {
                f.state = Some(if f.environment.is_none() {
                    findings::FindingState::New
                } else {
                    findings::FindingState::Persisting
                });
            }
            r.changes = Some(crate::report::Changes {
                previous: None,
                fail_on_new: false,
                new: r
                    .findings
                    .iter()
                    .filter(|f| f.environment.is_none())
                    .count(),
                persisting: r
                    .findings
                    .iter()
                    .filter(|f| f.environment.is_some())
                    .count(),
                resolved: vec![],
                latest_changes: vec![],
            });
            (path, r)
        };
        let whole = full();
        let global = whole
            .findings
            .iter()
            .filter(|f| f.environment.is_none())
            .count();
        assert!(global > 0, "the golden report needs global findings");
        let merged = merge(vec![
            with_states(shard(&["staging"], 1_700_000_000)),
            with_states(shard(&["production"], 1_700_000_100)),
        ])
        .unwrap();
        let changes = merged.changes.expect("both shards were compared");
        assert_eq!(changes.new, global);
        assert_eq!(changes.persisting, whole.findings.len() - global);
    }
}
