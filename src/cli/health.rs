//! `maildrift health`: cron, task queue, failed mail and bounce figures per environment.
//!
//! Shows figures and the findings they raise against the baseline's `[health]` thresholds,
//! but exits on reachability only: 0 when every site answered, 1 when any failed. The gate is
//! `maildrift check`.

use std::path::PathBuf;

use comfy_table::{ContentArrangement, Table};
use serde::Serialize;

use super::args::Global;
use super::exit;
use super::output::{self, emit};
use crate::baseline::Baseline;
use crate::evidence;
use crate::findings::{self, Finding, Severity};
use crate::health::{self, EnvironmentHealth, HealthPolicy, TestmailStatus};
use crate::relay::{self, EnvironmentRelay, RelayPolicy};
use crate::report::render::{Style, openmetrics};
use crate::report::{CheckRun, CheckState, EnvState, EnvironmentStatus, Report, Summary, Tool};

/// Schema identifier of `maildrift health --format json`.
pub const SCHEMA: &str = "maildrift.health/1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HealthFormat {
    /// Human-readable table
    Table,
    /// JSON (`maildrift.health/1`)
    Json,
    /// OpenMetrics text for Prometheus (textfile collector)
    Openmetrics,
}

#[derive(Debug, clap::Args)]
pub struct HealthArgs {
    /// Environments to read [default: all live environments in the config]
    #[arg(value_name = "ENV")]
    pub environments: Vec<String>,
    /// Days of mail log to count failures over, 1-90 [default: window_days in the baseline's [health], else 7]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=90))]
    pub days: Option<u32>,
    /// Output format [default: table on a terminal, json otherwise]
    #[arg(short, long, value_enum, value_name = "FORMAT")]
    pub format: Option<HealthFormat>,
    /// Write to FILE (atomically) instead of stdout, e.g. for the textfile collector
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Baseline whose [health] table sets the thresholds [default: `baseline` in the config]
    #[arg(short, long, env = "MAILDRIFT_BASELINE", value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Folder of test-mail evidence records [default: `evidence_dir` in the config, else ./evidence]
    #[arg(long, value_name = "DIR")]
    pub evidence_dir: Option<PathBuf>,
    /// Sites read at once [default: 16, or `jobs` in the config]
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Don't ask the sites to probe their relays (local_maildrift_probe_relay)
    #[arg(long)]
    pub no_relay: bool,
}

/// One environment in the JSON output.
#[derive(Debug, Serialize)]
struct EnvOut<'a> {
    environment: &'a str,
    state: EnvState,
    error: Option<&'a str>,
    health: Option<&'a EnvironmentHealth>,
    /// What the site's relays offered it; `None` with `--no-relay` or when the probe failed.
    relay: Option<&'a EnvironmentRelay>,
    relay_error: Option<String>,
}

#[derive(Debug, Serialize)]
struct JsonOut<'a> {
    schema: &'static str,
    generated_at: jiff::Timestamp,
    window_days: u32,
    environments: Vec<EnvOut<'a>>,
    findings: &'a [Finding],
}

pub async fn run(g: &Global, a: &HealthArgs) -> crate::Result<u8> {
    let config = output::load_config(g)?;
    let baseline_path = a.baseline.clone().or_else(|| config.baseline.clone());
    let baseline = match &baseline_path {
        Some(p) => Some(Baseline::load(p)?),
        None => None,
    };
    let policy = match &baseline {
        Some(b) => HealthPolicy::from_baseline(b)?,
        None => HealthPolicy::default(),
    };
    let relay_policy = match &baseline {
        Some(b) => RelayPolicy::from_baseline(b)?,
        None => RelayPolicy::default(),
    };
    let days = a.days.unwrap_or(policy.window_days);
    let now = output::now()?;
    let mut envs = Vec::new();
    for e in config.select(&a.environments)? {
        match &e.snapshot {
            Some(p) if a.environments.is_empty() => {
                if !g.quiet {
                    eprintln!(
                        "maildrift: note: {} is read from {}; health needs the live site, skipped",
                        e.name,
                        p.display()
                    );
                }
            }
            Some(p) => {
                return Err(crate::Error::Usage(format!(
                    "{} is read from the snapshot file {}: health needs the live site (remove `snapshot` from its config)",
                    e.name,
                    p.display()
                )));
            }
            None => envs.push(e.clone()),
        }
    }
    if envs.is_empty() {
        return Err(crate::Error::Usage(
            "no live environments to read: add [environments.NAME] with a url to the config".into(),
        ));
    }

    let dir = evidence::resolve_dir(a.evidence_dir.as_deref(), &config);
    let ev = match evidence::load(&dir) {
        Ok(ev) => ev,
        Err(e) => {
            eprintln!("maildrift: warning: {e}");
            evidence::Evidence {
                dir: dir.clone(),
                ..Default::default()
            }
        }
    };
    for p in &ev.problems {
        if !g.quiet {
            eprintln!("maildrift: warning: evidence file skipped: {p}");
        }
    }

    let jobs = a
        .jobs
        .or(config.jobs)
        .unwrap_or(crate::collect::DEFAULT_JOBS);
    let mut results = health::fetch_many(&envs, days, jobs, now).await;
    let mut found = Vec::new();
    for (name, r) in &mut results {
        if let Ok(h) = r {
            h.testmail = Some(TestmailStatus::of(&ev, name));
            found.extend(health::evaluate(h, &policy, now));
            found.extend(health::evaluate_evidence(name, &ev, &policy, now));
        }
    }
    let relays = if a.no_relay {
        Vec::new()
    } else {
        relay::fetch_many(&envs, jobs, now).await
    };
    let mut relay_failed = 0;
    for (_, r) in &relays {
        match r {
            Ok(facts) => found.extend(relay::evaluate(facts, &relay_policy, now)),
            Err(e) => {
                let failure = matches!(e, relay::Unavailable::Failed(_));
                relay_failed += usize::from(failure);
                if failure || !g.quiet {
                    let label = if failure { "error" } else { "note" };
                    eprintln!("maildrift: {label}: relay probe: {e}");
                }
            }
        }
    }
    let relay_of = |name: &str| relays.iter().find(|(n, _)| n == name).map(|(_, r)| r);
    findings::sort(&mut found);
    let failed = results.iter().filter(|(_, r)| r.is_err()).count() + relay_failed;

    let format = a.format.unwrap_or(
        if output::default_format() == crate::report::render::Format::Table {
            HealthFormat::Table
        } else {
            HealthFormat::Json
        },
    );
    let text = match format {
        HealthFormat::Json => {
            let out = JsonOut {
                schema: SCHEMA,
                generated_at: now,
                window_days: days,
                environments: results
                    .iter()
                    .map(|(name, r)| EnvOut {
                        environment: name,
                        state: if r.is_ok() {
                            EnvState::Ok
                        } else {
                            EnvState::Failed
                        },
                        error: r.as_ref().err().map(String::as_str),
                        health: r.as_ref().ok(),
                        relay: relay_of(name).and_then(|r| r.as_ref().ok()),
                        relay_error: relay_of(name)
                            .and_then(|r| r.as_ref().err())
                            .map(|e| e.to_string()),
                    })
                    .collect(),
                findings: &found,
            };
            let mut s = serde_json::to_string_pretty(&out)
                .map_err(|e| crate::Error::Usage(format!("cannot serialise: {e}")))?;
            s.push('\n');
            s
        }
        HealthFormat::Openmetrics => {
            openmetrics::report(&as_report(&results, found.clone(), now), "health")
        }
        HealthFormat::Table => {
            let style = if a.output.is_some() {
                Style::default()
            } else {
                output::stdout_style(g)
            };
            let mut out = table(&results, &found, days, &style);
            let facts: Vec<&EnvironmentRelay> =
                relays.iter().filter_map(|(_, r)| r.as_ref().ok()).collect();
            for r in facts {
                out.push_str(&relay::describe(r));
            }
            out
        }
    };
    emit(&text, a.output.as_deref())?;
    if failed > 0 && !g.quiet {
        for (name, r) in &results {
            if let Err(e) = r {
                if e.starts_with(&format!("{name}:")) {
                    eprintln!("maildrift: error: {e}");
                } else {
                    eprintln!("maildrift: error: {name}: {e}");
                }
            }
        }
    }
    Ok(if failed > 0 { exit::ERROR } else { exit::CLEAN })
}

/// The results as a report, for the OpenMetrics renderer.
fn as_report(
    results: &[(String, Result<EnvironmentHealth, String>)],
    findings: Vec<Finding>,
    now: jiff::Timestamp,
) -> Report {
    let environments: Vec<EnvironmentStatus> = results
        .iter()
        .map(|(name, r)| EnvironmentStatus {
            name: name.clone(),
            url: None,
            state: if r.is_ok() {
                EnvState::Ok
            } else {
                EnvState::Failed
            },
            error: r.as_ref().err().cloned(),
            source: None,
            origin: Some("live".into()),
            release: None,
            plugin_version: None,
            taken_at: r.as_ref().ok().map(|h| h.generated_at),
        })
        .collect();
    let checks = results
        .iter()
        .map(|(name, r)| CheckRun {
            check: health::CATEGORY.into(),
            environment: Some(name.clone()),
            state: if r.is_ok() {
                CheckState::Passed
            } else {
                CheckState::Errored
            },
            detail: r.as_ref().err().cloned(),
        })
        .collect();
    let summary = Summary::of(&findings, &environments, Severity::Error);
    Report {
        schema: crate::report::SCHEMA.into(),
        tool: Tool::default(),
        generated_at: now,
        fail_on: Severity::Error,
        standard: None,
        environments,
        checks,
        findings,
        exceptions: vec![],
        evidence: vec![],
        dns: vec![],
        health: results
            .iter()
            .filter_map(|(_, r)| r.as_ref().ok().cloned())
            .collect(),
        relay: vec![],
        changes: None,
        summary,
    }
}

fn table(
    results: &[(String, Result<EnvironmentHealth, String>)],
    found: &[Finding],
    days: u32,
    style: &Style,
) -> String {
    use crate::health::human;
    let mut t = Table::new();
    t.force_no_tty();
    t.load_preset(comfy_table::presets::UTF8_HORIZONTAL_ONLY);
    match style.width {
        Some(w) => {
            t.set_width(w);
            t.set_content_arrangement(ContentArrangement::Dynamic);
        }
        None => {
            t.set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    t.set_header(vec![
        "Environment".to_string(),
        "Cron".into(),
        "Mail tasks".into(),
        "All tasks".into(),
        format!("Failed mail ({days} d)"),
        "Bounces".into(),
        "Test mail".into(),
    ]);
    let queue = |q: &crate::health::TaskQueue| {
        let mut s = format!("{} due / {} queued", q.due_now, q.pending);
        if q.due_now > 0 {
            s.push_str(&format!("\noldest {}", human(q.oldest_due_age_seconds)));
        }
        if q.failing > 0 {
            s.push_str(&format!("\n{} failing", q.failing));
        }
        s
    };
    for (name, r) in results {
        match r {
            Err(e) => {
                t.add_row(vec![
                    name.clone(),
                    format!("failed: {e}"),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                ]);
            }
            Ok(h) => {
                let cron = match h.cron.age_seconds {
                    Some(a) => format!("{} ago", human(a)),
                    None => "never ran".into(),
                };
                let f = &h.failed_mail;
                let failed = if !f.log_available {
                    "no log store".to_string()
                } else {
                    let mut s = format!("{} of {}", f.failed, f.failed + f.sent);
                    if let Some(rate) = f.failure_rate {
                        s.push_str(&format!(" ({:.1} %)", rate * 100.0));
                    }
                    if let Some(last) = f.last_failure {
                        s.push_str(&format!("\nlast {}", last.strftime("%Y-%m-%d %H:%M UTC")));
                    }
                    s
                };
                let testmail = match h.testmail.as_ref().and_then(|t| t.last_success_at) {
                    Some(at) => format!("sent {}", at.strftime("%Y-%m-%d")),
                    None => "none".into(),
                };
                t.add_row(vec![
                    name.clone(),
                    cron,
                    queue(&h.queue.mail),
                    queue(&h.queue.all),
                    failed,
                    format!("{} user(s)", h.bounces.users_over_threshold),
                    testmail,
                ]);
            }
        }
    }
    let mut out = t.to_string();
    out.push('\n');
    if found.is_empty() {
        out.push_str("\nNo health findings.\n");
    } else {
        out.push('\n');
        for f in found {
            out.push_str(&format!(
                "{} {:<7} {} {}: {}\n    {}\n",
                f.code,
                f.severity.as_str(),
                f.environment.as_deref().unwrap_or("-"),
                f.subject.as_deref().unwrap_or(""),
                f.message,
                f.remedy
            ));
        }
    }
    for (name, r) in results {
        if let Ok(h) = r
            && !h.failed_mail.recent.is_empty()
        {
            out.push_str(&format!("\nRecent failures on {name}:\n"));
            for rf in &h.failed_mail.recent {
                let when = rf
                    .time
                    .map(|t| t.strftime("%Y-%m-%d %H:%M").to_string())
                    .unwrap_or_default();
                let err = rf.error.split_whitespace().collect::<Vec<_>>().join(" ");
                out.push_str(&format!("  {when}  {}  {err}\n", rf.recipient_domain));
            }
        }
    }
    out
}
