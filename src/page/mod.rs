//! The standard's living page (`maildrift page`): what the standard covers as measured, its
//! binding rules and where each lives in Moodle's admin UI, evidence, active exceptions, the
//! latest change, the next review, and the three monthly metrics over the last 12 months —
//! rendered as Markdown ([`markdown`]) or one self-contained HTML file ([`html`], charts by
//! [`svg`]). Gathering ([`gather`]) reads the baseline and the history; the renderers do no I/O.

pub mod html;
pub mod markdown;
pub mod svg;

use crate::baseline::{Baseline, Role};
use crate::findings::Finding;
use crate::health::HealthPolicy;
use crate::history::{EnvironmentLatest, Month, MonthFigures, SettingChange, Store};

/// Everything the page shows.
#[derive(Debug, Clone)]
pub struct Page {
    pub month: Month,
    /// The environments the page is limited to (`--environment`); empty: the whole fleet.
    pub focus: Vec<String>,
    pub generated_at: jiff::Timestamp,
    pub standard: crate::baseline::Standard,
    pub baseline_path: String,
    pub scope: Vec<Scope>,
    pub rules: Vec<Rule>,
    pub exceptions: Vec<crate::baseline::Exception>,
    pub latest_change: Option<SettingChange>,
    /// The 12 months ending with `month`, oldest first, over the fleet (or the focus).
    pub trend: Vec<FleetMonth>,
    /// The month's figures per environment.
    pub figures: Vec<MonthFigures>,
    /// The month's review findings (MD83x).
    pub review: Vec<Finding>,
    pub policy: HealthPolicy,
}

/// One environment as last measured.
#[derive(Debug, Clone)]
pub struct Scope {
    pub latest: EnvironmentLatest,
    pub role: Option<Role>,
    pub relay: Option<String>,
    pub sender: Option<String>,
}

impl Scope {
    /// The state of a DNS check (`spf`, `dkim`, `dmarc`) at the latest run.
    pub fn check(&self, name: &str) -> &str {
        self.latest
            .checks
            .iter()
            .find(|(c, _)| c == name)
            .map_or("not run", |(_, s)| s.as_str())
    }
}

/// A binding rule of the baseline.
#[derive(Debug, Clone)]
pub struct Rule {
    pub setting: String,
    pub value: String,
    /// `all` or the environment it applies to.
    pub applies_to: String,
    pub admin_path: &'static str,
}

/// The fleet's figures for one month (all environments together).
#[derive(Debug, Clone, PartialEq)]
pub struct FleetMonth {
    pub month: Month,
    pub runs: u32,
    pub failed: f64,
    pub delivery_rate_proxy: Option<f64>,
    pub queue_peak_seconds: i64,
    /// Some environment's delivery rate was under the threshold this month (MD830).
    pub rate_over: bool,
    /// Some environment's queue delay was over the threshold this month (MD831).
    pub queue_over: bool,
}

/// Where a setting lives in Moodle's admin UI (Moodle 4.5 and 5.x).
pub fn admin_path(setting: &str) -> &'static str {
    match setting {
        "noemailever" => "config.php only ($CFG->noemailever)",
        "handlebounces" | "minbounces" | "bounceratio" => {
            "Site administration > Server > Email > Incoming mail configuration"
        }
        "smtphosts"
        | "smtpsecure"
        | "smtpauthtype"
        | "smtpuser"
        | "smtppass"
        | "smtpmaxbulk"
        | "noreplyaddress"
        | "allowedemaildomains"
        | "divertallemailsto"
        | "divertallemailsexcept"
        | "emaildkimselector"
        | "sitemailcharset"
        | "allowusermailcharset"
        | "allowattachments"
        | "mailnewline"
        | "emailfromvia"
        | "emailsubjectprefix"
        | "emailheaders"
        | "smtpoauthservice" => {
            "Site administration > Server > Email > Outgoing mail configuration"
        }
        _ => "Site administration > Search (setting name)",
    }
}

impl Page {
    /// The sentence saying what the page is limited to, with the names passed through the
    /// format's escaping; `None` for the whole fleet.
    pub fn focus_note(&self, esc: impl Fn(&str) -> String) -> Option<String> {
        (!self.focus.is_empty()).then(|| {
            format!(
                "Limited to {}: scope, rules, exceptions and metrics of {} only.",
                esc(&self.focus.join(", ")),
                if self.focus.len() == 1 {
                    "this environment"
                } else {
                    "these environments"
                }
            )
        })
    }

    /// Who the charts speak for: "the fleet", one environment, or "N environments".
    pub fn whose(&self) -> String {
        match self.focus.as_slice() {
            [] => "the fleet".to_string(),
            [one] => one.clone(),
            many => format!("{} environments", many.len()),
        }
    }
}

/// Reads what the page needs for `month` from the baseline and the history; with `focus`,
/// only about those environments (each must be in the history).
pub fn gather(
    baseline: &Baseline,
    store: &Store,
    month: Month,
    now: jiff::Timestamp,
    focus: &[String],
) -> Result<Page, crate::Error> {
    let policy = HealthPolicy::from_baseline(baseline)?;
    let in_focus = |env: &str| focus.is_empty() || focus.iter().any(|f| f == env);
    let known = store.environments_latest()?;
    if let Some(missing) = focus
        .iter()
        .find(|f| !known.iter().any(|k| &k.environment == *f))
    {
        let names: Vec<&str> = known
            .iter()
            .take(10)
            .map(|k| k.environment.as_str())
            .collect();
        let more = known.len().saturating_sub(names.len());
        return Err(crate::Error::Usage(format!(
            "--environment {}: the history store {} has no run that read it; it knows {}{}",
            crate::report::render::visible(missing),
            store.path().display(),
            if names.is_empty() {
                "no environment yet".to_string()
            } else {
                crate::report::render::visible(&names.join(", "))
            },
            if more > 0 {
                format!(" and {more} more (`maildrift history` lists runs)")
            } else {
                String::new()
            }
        )));
    }
    let mut scope = Vec::new();
    let mut latest_change: Option<SettingChange> = None;
    for latest in known.into_iter().filter(|k| in_focus(&k.environment)) {
        let env = latest.environment.clone();
        let change = store.latest_change(&env)?;
        if let Some(c) = change
            && latest_change
                .as_ref()
                .is_none_or(|l| c.changed_at > l.changed_at)
        {
            latest_change = Some(c);
        }
        scope.push(Scope {
            role: baseline.environments.get(&env).and_then(|r| r.role),
            relay: store.current_value(&env, "smtphosts")?,
            sender: store.current_value(&env, "noreplyaddress")?,
            latest,
        });
    }
    let mut rules: Vec<Rule> = baseline
        .settings
        .iter()
        .map(|(k, v)| Rule {
            setting: k.clone(),
            value: v.clone(),
            applies_to: "all".into(),
            admin_path: admin_path(k),
        })
        .collect();
    for (env, r) in baseline.environments.iter().filter(|(e, _)| in_focus(e)) {
        rules.extend(r.settings.iter().map(|(k, v)| Rule {
            setting: k.clone(),
            value: v.clone(),
            applies_to: env.clone(),
            admin_path: admin_path(k),
        }));
    }
    let today = now.to_zoned(jiff::tz::TimeZone::UTC).date();
    let exceptions = baseline
        .exceptions
        .iter()
        .filter(|x| x.expires >= today)
        .filter(|x| x.environment.as_deref().is_none_or(in_focus))
        .cloned()
        .collect();
    let mut months = vec![month];
    while months.len() < 12 {
        months.insert(0, months[0].prev());
    }
    let mut all = store.monthly(None, &months)?;
    all.retain(|f| in_focus(&f.environment));
    let trend = months.iter().map(|m| fleet(*m, &all, &policy)).collect();
    let figures: Vec<MonthFigures> = all.into_iter().filter(|f| f.month == month).collect();
    let review = crate::history::metrics::review(&figures, &policy);
    Ok(Page {
        month,
        focus: focus.to_vec(),
        generated_at: now,
        standard: {
            let mut s = baseline.standard.clone();
            s.evidence
                .retain(|e| e.environment.as_deref().is_none_or(in_focus));
            s
        },
        baseline_path: baseline.path.display().to_string(),
        scope,
        rules,
        exceptions,
        latest_change,
        trend,
        figures,
        review,
        policy,
    })
}

fn fleet(month: Month, all: &[MonthFigures], policy: &HealthPolicy) -> FleetMonth {
    let of: Vec<&MonthFigures> = all.iter().filter(|f| f.month == month).collect();
    let owned: Vec<MonthFigures> = of.iter().map(|f| (*f).clone()).collect();
    let review = crate::history::metrics::review(&owned, policy);
    let raised = |code: &str| review.iter().any(|f| f.code == code);
    let failed: f64 = of.iter().map(|f| f.failed).sum();
    let logged: f64 = of
        .iter()
        .filter(|f| f.log_available)
        .map(|f| f.failed + f.sent_proxy)
        .sum();
    let failed_logged: f64 = of
        .iter()
        .filter(|f| f.log_available)
        .map(|f| f.failed)
        .sum();
    FleetMonth {
        month,
        runs: of.iter().map(|f| f.runs).max().unwrap_or(0),
        failed,
        delivery_rate_proxy: (logged > 0.0).then(|| 1.0 - failed_logged / logged),
        queue_peak_seconds: of.iter().map(|f| f.queue_peak_seconds).max().unwrap_or(0),
        rate_over: raised(crate::history::metrics::MONTH_DELIVERY_RATE.code),
        queue_over: raised(crate::history::metrics::MONTH_QUEUE_DELAY.code),
    }
}

/// `98.75 %`, or `no data`.
/// Column names of the scope table.
pub const SCOPE_COLUMNS: [&str; 9] = [
    "Environment",
    "Role",
    "Relay",
    "Sender",
    "SPF",
    "DKIM",
    "DMARC",
    "DNS",
    "Last run",
];

/// The scope table's cells: texts passed through the format's escaping, check states through
/// its way of showing a state.
pub fn scope_rows(
    p: &Page,
    esc: impl Fn(&str) -> String,
    state: impl Fn(&str) -> String,
) -> Vec<Vec<String>> {
    p.scope
        .iter()
        .map(|e| {
            vec![
                esc(&e.latest.environment),
                role_name(e.role).into(),
                e.relay.as_deref().map(&esc).unwrap_or_default(),
                e.sender.as_deref().map(&esc).unwrap_or_default(),
                state(e.check("spf")),
                state(e.check("dkim")),
                state(e.check("dmarc")),
                e.latest.dns.as_deref().map(&esc).unwrap_or_default(),
                e.latest.seen_at.strftime("%Y-%m-%d").to_string(),
            ]
        })
        .collect()
}

/// Column names of the metrics tables; the first is `Month` or `Environment`.
pub const METRIC_COLUMNS: [&str; 4] = [
    "Runs",
    "Delivery rate (proxy)",
    "Failed (≈)",
    "Queue delay at peak",
];

/// The 12-month table's cells (no text from outside: months and figures).
pub fn trend_rows(p: &Page) -> Vec<Vec<String>> {
    p.trend
        .iter()
        .map(|m| {
            let measured = |text: String| if m.runs == 0 { "no data".into() } else { text };
            vec![
                m.month.to_string(),
                m.runs.to_string(),
                percent(m.delivery_rate_proxy),
                measured(format!("{:.0}", m.failed)),
                measured(minutes(m.queue_peak_seconds)),
            ]
        })
        .collect()
}

/// The month's table by environment, names passed through the format's escaping.
pub fn figure_rows(p: &Page, esc: impl Fn(&str) -> String) -> Vec<Vec<String>> {
    p.figures
        .iter()
        .map(|f| {
            vec![
                esc(&f.environment),
                f.runs.to_string(),
                percent(f.delivery_rate_proxy),
                format!("{:.0}", f.failed),
                minutes(f.queue_peak_seconds),
            ]
        })
        .collect()
}

/// A metrics table's header: `first` and then [`METRIC_COLUMNS`].
pub fn metric_header(first: &'static str) -> Vec<&'static str> {
    std::iter::once(first).chain(METRIC_COLUMNS).collect()
}

/// Column names of the active-exceptions table.
pub const EXCEPTION_COLUMNS: [&str; 6] = [
    "Covers",
    "Environment",
    "Owner",
    "Expires",
    "Ticket",
    "Reason",
];

/// The active-exceptions table's cells, each text passed through the format's escaping.
pub fn exception_rows(p: &Page, esc: impl Fn(&str) -> String) -> Vec<Vec<String>> {
    p.exceptions
        .iter()
        .map(|x| {
            vec![
                esc(x.setting.as_deref().or(x.code.as_deref()).unwrap_or("")),
                x.environment.as_deref().map_or("all".into(), &esc),
                esc(&x.owner),
                x.expires.to_string(),
                x.ticket.as_deref().map(&esc).unwrap_or_default(),
                esc(&x.reason),
            ]
        })
        .collect()
}

pub fn percent(r: Option<f64>) -> String {
    r.map_or_else(|| "no data".to_string(), |r| format!("{:.2} %", r * 100.0))
}

/// Minutes, rounded down.
pub fn minutes(seconds: i64) -> String {
    format!("{} min", seconds / 60)
}

pub fn role_name(r: Option<Role>) -> &'static str {
    match r {
        Some(Role::Production) => "production",
        Some(Role::Staging) => "staging",
        None => "",
    }
}
