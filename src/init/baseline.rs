//! The first baseline: the reference environment's values as the standard, roles from names,
//! the staging diversion as it is, `may_differ` for what differs today, and DNS expectations
//! no stricter than what DNS publishes today, so the first `check` reports only what init
//! could not decide.

use std::fmt::Write as _;

use super::{Proposal, Site, comment_text, toml_string};
use crate::baseline::{Role, guess_role};
use crate::compare::normalise;
use crate::dns::DmarcPolicy;
use crate::dns::policy::DnsPolicy;
use crate::snapshot::settings::MAIL_SETTINGS;

/// Settings whose values follow the environment's role (see `checks::drift`): they are stated
/// per staging environment, never in `[settings]`.
const ROLE_SETTINGS: &[&str] = &["divertallemailsto", "divertallemailsexcept", "noemailever"];

/// Proposes the baseline for `sites` (in config order), comparing with `reference` (default:
/// the first production environment, else the first). `today` dates the review.
pub fn propose_baseline(
    sites: &[Site],
    reference: Option<&str>,
    today: jiff::civil::Date,
) -> Result<Proposal, String> {
    let Some(first) = sites.first() else {
        return Err("no environments to propose a baseline from".into());
    };
    let reference = match reference {
        Some(r) => sites.iter().find(|s| s.name == r).ok_or_else(|| {
            format!(
                "--reference {r}: not one of the environments ({})",
                names(sites)
            )
        })?,
        None => sites
            .iter()
            .find(|s| guess_role(&s.name) == Some(Role::Production))
            .unwrap_or(first),
    };
    let mut undecided = Vec::new();
    let mut t = String::new();
    let review = today
        .checked_add(jiff::Span::new().years(1))
        .unwrap_or(today);

    writeln!(
        t,
        "# Outgoing-mail standard for the Moodle sites: {}.\n\
         # Proposed by `maildrift init` on {today} from what the sites and DNS said then.\n\
         # Review it line by line: keep what is the standard, change what is not, then commit\n\
         # it. `maildrift check` holds every environment to it from now on. The format is\n\
         # described in maildrift's baselines/README.md; `maildrift explain CODE` explains a\n\
         # finding.\n\
         schema = \"maildrift.baseline/1\"\n",
        names(sites)
    )
    .ok();

    writeln!(
        t,
        "# Who owns the standard and when it is reviewed next: init can't know the owner.\n\
         # A review_by date in the past is a finding (MD001).\n\
         [standard]\n\
         name = \"Moodle mail standard\"\n\
         owner = \"TODO: the team that owns this standard <address>\"\n\
         # approved_by = \"\"\n\
         # approved_on = {today}\n\
         review_by = {review}   # a year from today\n"
    )
    .ok();
    undecided.push(
        "[standard] owner: the team that owns the standard (and approved_by, approved_on)".into(),
    );

    // [settings]: what every environment agrees on today, in the reference's words.
    writeln!(
        t,
        "# Expected in every environment: the values all environments share today (as {} has\n\
         # them). Values are strings exactly as Moodle stores them (\"1\"/\"0\" for checkboxes).\n\
         [settings]",
        reference.name
    )
    .ok();
    let mut differing: Vec<(&str, Vec<(&str, &str)>)> = Vec::new();
    for spec in MAIL_SETTINGS {
        let name = spec.name;
        if !reference.snapshot.settings.contains_key(name) {
            continue;
        }
        let value = reference.snapshot.value(name);
        let all_equal = sites
            .iter()
            .all(|s| normalise::equal(name, value, s.snapshot.value(name)));
        if ROLE_SETTINGS.contains(&name) {
            // Differences between roles are expected; within a role (or without one) they
            // are drift like any other.
            if !all_equal && role_drift(sites, reference, name) {
                differing.push((name, values(sites, name)));
            }
            continue;
        }
        if all_equal {
            writeln!(t, "{name} = {}", toml_string(value)).ok();
        } else {
            differing.push((name, values(sites, name)));
        }
    }
    t.push('\n');

    for site in sites {
        environment_section(&mut t, site, &mut undecided);
    }

    writeln!(
        t,
        "# Every environment is compared with the reference; a setting not listed in may_differ\n\
         # must be equal. Diversion settings may always differ between production and staging.\n\
         [drift]\n\
         reference = {}",
        toml_string(&reference.name)
    )
    .ok();
    if differing.is_empty() {
        t.push_str("may_differ = []\n\n");
    } else {
        t.push_str("may_differ = [\n");
        for (name, vals) in &differing {
            let shown: Vec<String> = vals
                .iter()
                .map(|(env, v)| format!("{env} {}", comment_text(v)))
                .collect();
            writeln!(
                t,
                "    {},   # differs today — confirm or remove ({})",
                toml_string(name),
                shown.join(", ")
            )
            .ok();
        }
        t.push_str("]\n\n");
    }

    dns_section(&mut t, sites, &mut undecided);

    t.push_str(
        "# Queue and delivery health of live sites (see maildrift's docs/health.md).\n\
         # [health]\n\
         # cron_max_age_minutes = 10\n\
         # queue_max_age_minutes = 60\n\n\
         # Exceptions: agreed, dated deviations (setting or code, environment, value, reason,\n\
         # owner, expires, ticket). Init writes none: each needs an owner's decision.\n\
         # [[exceptions]]\n\
         # setting = \"smtpsecure\"\n\
         # environment = \"staging\"\n\
         # value = \"\"\n\
         # reason = \"why this deviation is acceptable for now\"\n\
         # owner = \"who decided it\"\n\
         # expires = 2027-06-30\n",
    );
    Ok(Proposal { text: t, undecided })
}

fn names(sites: &[Site]) -> String {
    sites
        .iter()
        .map(|s| s.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn values<'a>(sites: &'a [Site], name: &str) -> Vec<(&'a str, &'a str)> {
    sites
        .iter()
        .map(|s| (s.name.as_str(), s.snapshot.value(name)))
        .collect()
}

/// Whether `check` would call a difference in a role setting drift: when an environment
/// differs from the reference and the two have the same role, or either has none.
fn role_drift(sites: &[Site], reference: &Site, name: &str) -> bool {
    let ref_role = guess_role(&reference.name);
    let ref_value = reference.snapshot.value(name);
    sites.iter().any(|s| {
        let role = guess_role(&s.name);
        !normalise::equal(name, ref_value, s.snapshot.value(name))
            && (role.is_none() || ref_role.is_none() || role == ref_role)
    })
}

fn environment_section(t: &mut String, site: &Site, undecided: &mut Vec<String>) {
    let name = &site.name;
    writeln!(t, "[environments.{name}]").ok();
    // Sub-tables end the environment's own keys, so they come last.
    let mut sub = String::new();
    match guess_role(name) {
        Some(Role::Production) => {
            t.push_str("role = \"production\"   # from the name: real users get the mail\n");
        }
        Some(Role::Staging) => {
            t.push_str(
                "role = \"staging\"   # from the name: all mail must be diverted or stopped\n",
            );
            let snap = &site.snapshot;
            let divert = snap.value("divertallemailsto").trim();
            if !divert.is_empty() || snap.flag("noemailever") {
                writeln!(sub, "[environments.{name}.settings]").ok();
                if !divert.is_empty() {
                    writeln!(
                        sub,
                        "divertallemailsto = {}   # the sink it diverts to today",
                        toml_string(divert)
                    )
                    .ok();
                    writeln!(
                        sub,
                        "divertallemailsexcept = {}",
                        toml_string(snap.value("divertallemailsexcept"))
                    )
                    .ok();
                }
                if snap.flag("noemailever") {
                    sub.push_str("noemailever = \"1\"   # it sends no mail at all today\n");
                }
            } else {
                writeln!(
                    t,
                    "# {name} sends mail to real people today: divertallemailsto is empty and\n\
                     # noemailever is off. Init can't choose the sink mailbox: set one in Moodle\n\
                     # (forced in config.php) and state it here, e.g.\n\
                     # settings = {{ divertallemailsto = \"moodle-{name}-sink@example.org\" }}"
                )
                .ok();
                undecided.push(format!(
                    "{name}: the sink mailbox its mail is diverted to (it mails real people today: MD305)"
                ));
            }
        }
        None => {
            writeln!(
                t,
                "# role = \"production\" or \"staging\": init can't tell from the name `{name}`.\n\
                 # Set it, so the sender rules know whether this site may mail real people."
            )
            .ok();
            undecided.push(format!(
                "{name}: its role, production or staging (not clear from the name)"
            ));
        }
    }
    if let Some(survey) = &site.survey {
        for relay in &survey.relays {
            let ips: Vec<String> = relay.ips.iter().map(|i| i.to_string()).collect();
            if relay.internal() {
                writeln!(
                    t,
                    "# The relay {} is {}, an internal address: where mail reaches the internet\n\
                     # is unknown, so SPF can't be judged. List those addresses (or host names):\n\
                     # dns = {{ egress = [\"203.0.113.25\"] }}",
                    comment_text(&relay.host),
                    ips.join(", ")
                )
                .ok();
                undecided.push(format!(
                    "{name}: the egress addresses behind the internal relay {} ([environments.{name}] dns.egress)",
                    comment_text(&relay.host)
                ));
            }
        }
    }
    t.push_str(&sub);
    t.push('\n');
}

fn dns_section(t: &mut String, sites: &[Site], undecided: &mut Vec<String>) {
    let surveys: Vec<_> = sites.iter().filter_map(|s| s.survey.as_ref()).collect();
    t.push_str(
        "# What DNS must say about the sender domains (`check` asks unless --no-dns), proposed\n\
         # from what DNS publishes today; tighten it as DNS improves.\n\
         [dns]\n",
    );
    if surveys.is_empty() {
        t.push_str(
            "# DNS was not asked when this file was proposed (--no-dns); the defaults apply.\n\
             # min_dmarc_policy = \"quarantine\"\n\
             # min_dkim_bits = 2048\n\n",
        );
        undecided.push("[dns]: DNS was not asked, so no DNS expectations were proposed".into());
        return;
    }
    for s in &surveys {
        if !s.unanswered.is_empty() {
            undecided.push(format!(
                "{}: DNS did not answer ({}); its DNS expectations may be incomplete",
                s.environment,
                s.unanswered.join("; ")
            ));
        }
    }

    // DMARC: the weakest policy any From domain gets today, so no domain fails the minimum.
    let weakest = surveys
        .iter()
        .flat_map(|s| &s.dmarc)
        .min_by_key(|d| d.policy);
    match weakest {
        Some(d) => {
            let comment = if d.policy == DmarcPolicy::Reject {
                "every From domain is at p=reject today".to_string()
            } else {
                format!(
                    "{} has {}={} today (the weakest); raise this as the policy tightens",
                    d.at,
                    d.tag,
                    d.policy.as_str()
                )
            };
            writeln!(
                t,
                "min_dmarc_policy = {}   # {comment}",
                toml_string(d.policy.as_str())
            )
            .ok();
        }
        None => {
            t.push_str(
                "# min_dmarc_policy = \"quarantine\"   # no DMARC record is published today\n",
            );
        }
    }
    let mut missing: Vec<&String> = surveys.iter().flat_map(|s| &s.dmarc_missing).collect();
    missing.sort();
    missing.dedup();
    for d in missing {
        undecided.push(format!(
            "{d}: no usable DMARC record today; publish one (check reports it)"
        ));
    }

    // DKIM: the smallest RSA key published today.
    let smallest = surveys
        .iter()
        .flat_map(|s| &s.dkim)
        .filter_map(|k| k.rsa_bits.map(|b| (b, k)))
        .min_by_key(|(b, _)| *b);
    match smallest {
        Some((bits, k)) => {
            let note = if (bits as u64) < u64::from(DnsPolicy::DEFAULT_MIN_DKIM_BITS) {
                format!(
                    "{} is {} today; raise to {} at the next key rotation",
                    k.name,
                    k.describe,
                    DnsPolicy::DEFAULT_MIN_DKIM_BITS
                )
            } else {
                format!(
                    "the smallest key published today: {} ({})",
                    k.name, k.describe
                )
            };
            writeln!(t, "min_dkim_bits = {bits}   # {note}").ok();
        }
        None => {
            writeln!(
                t,
                "min_dkim_bits = {}   # no DKIM key is published for Moodle's selector today; the default",
                DnsPolicy::DEFAULT_MIN_DKIM_BITS
            )
            .ok();
        }
    }

    // DMARC report destinations, as published.
    let mut rua: Vec<&String> = surveys
        .iter()
        .flat_map(|s| &s.dmarc)
        .flat_map(|d| &d.report_domains)
        .collect();
    rua.sort();
    rua.dedup();
    if rua.is_empty() {
        t.push_str(
            "# allowed_rua = [\"example.org\"]   # no DMARC report address is published today\n",
        );
    } else {
        let list: Vec<String> = rua.iter().map(|d| toml_string(d)).collect();
        writeln!(
            t,
            "allowed_rua = [{}]   # where DMARC reports go today",
            list.join(", ")
        )
        .ok();
    }

    // Relays that send to the internet themselves need no egress; say what they are today.
    for s in &surveys {
        for relay in s.relays.iter().filter(|r| !r.internal()) {
            let ips: Vec<String> = relay.ips.iter().map(|i| i.to_string()).collect();
            writeln!(
                t,
                "# {}: relay {} is {} today; SPF is judged for it. Set egress only if mail\n\
                 # leaves through another host: egress = [\"…\"]",
                s.environment,
                comment_text(&relay.host),
                if ips.is_empty() {
                    "unresolvable".to_string()
                } else {
                    ips.join(", ")
                }
            )
            .ok();
        }
    }
    let mut includes: Vec<&String> = surveys.iter().flat_map(|s| &s.spf_includes).collect();
    includes.sort();
    includes.dedup();
    if !includes.is_empty() {
        let list: Vec<String> = includes.iter().map(|d| toml_string(d)).collect();
        writeln!(
            t,
            "# spf_includes = [{}]   # included by SPF today; uncomment to require them",
            list.join(", ")
        )
        .ok();
    }
    let mut mx: Vec<String> = Vec::new();
    for s in &surveys {
        if let Some((_, hosts)) = &s.mx {
            for h in hosts {
                if !mx.contains(h) {
                    mx.push(h.clone());
                }
            }
        }
    }
    if !mx.is_empty() {
        let list: Vec<String> = mx.iter().map(|d| toml_string(d)).collect();
        writeln!(
            t,
            "# required_mx = [{}]   # MX of the envelope domains today; uncomment to require them",
            list.join(", ")
        )
        .ok();
    }
    t.push('\n');
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::audit::{self, Collected, External};
    use crate::baseline::Baseline;
    use crate::checks::testing::snapshot;
    use crate::findings::Severity;

    fn site(name: &str, values: &[(&str, &str)]) -> Site {
        Site {
            name: name.into(),
            snapshot: snapshot(name, values),
            survey: None,
        }
    }

    fn today() -> jiff::civil::Date {
        jiff::civil::date(2026, 12, 1)
    }

    /// The codes `check` would report for `sites` against the proposed baseline (no DNS).
    fn first_check(sites: &[Site], proposal: &Proposal) -> Vec<String> {
        let baseline = Baseline::parse(&proposal.text, Path::new("b.toml"))
            .unwrap_or_else(|e| panic!("{e}\n{}", proposal.text));
        let collected: Vec<Collected> = sites
            .iter()
            .map(|s| Collected {
                name: s.name.clone(),
                url: None,
                origin: "test".into(),
                result: Ok(s.snapshot.clone()),
            })
            .collect();
        let report = audit::build(
            &collected,
            Some(&baseline),
            External::default(),
            &audit::Options {
                fail_on: Severity::Error,
                now: jiff::Timestamp::UNIX_EPOCH,
                today: today(),
            },
        );
        report.findings.iter().map(|f| f.code.to_string()).collect()
    }

    const GOOD: &[(&str, &str)] = &[
        ("smtphosts", "smtp.example.edu:587"),
        ("smtpsecure", "tls"),
        ("noreplyaddress", "noreply@example.edu"),
        ("allowedemaildomains", "example.edu"),
        ("divertallemailsto", ""),
        ("noemailever", "0"),
    ];

    fn with(
        base: &[(&'static str, &'static str)],
        over: &[(&'static str, &'static str)],
    ) -> Vec<(&'static str, &'static str)> {
        let mut v: Vec<_> = base
            .iter()
            .filter(|(k, _)| !over.iter().any(|(o, _)| o == k))
            .copied()
            .collect();
        v.extend_from_slice(over);
        v
    }

    #[test]
    fn the_first_check_reports_nothing_the_baseline_decides() {
        let sites = [
            site("production", GOOD),
            site(
                "staging",
                &with(
                    GOOD,
                    &[
                        ("smtphosts", "smtp-staging.example.edu:25"),
                        ("smtpsecure", ""),
                        ("divertallemailsto", "sink@example.edu"),
                        ("divertallemailsexcept", "@example\\.edu$"),
                    ],
                ),
            ),
            site("uat", &with(GOOD, &[("noemailever", "1")])),
        ];
        let p = propose_baseline(&sites, None, today()).unwrap();
        let codes = first_check(&sites, &p);
        assert!(
            !codes
                .iter()
                .any(|c| ["MD101", "MD201", "MD001"].contains(&c.as_str())),
            "{codes:?}\n{}",
            p.text
        );
        let b = Baseline::parse(&p.text, Path::new("b.toml")).unwrap();
        assert_eq!(b.may_differ, ["smtphosts", "smtpsecure"]);
        assert_eq!(
            b.expected("staging", "divertallemailsto"),
            Some("sink@example.edu")
        );
        assert_eq!(b.expected("uat", "noemailever"), Some("1"));
        assert_eq!(b.expected("production", "smtpsecure"), None);
        assert_eq!(
            b.expected("uat", "allowedemaildomains"),
            Some("example.edu")
        );
        assert_eq!(b.standard.review_by, Some(jiff::civil::date(2027, 12, 1)));
    }

    #[test]
    fn values_from_a_site_cannot_write_toml_into_the_baseline() {
        let hostile = "x\"\n[standard]\nowner = \"evil\"\n# \u{1b}[31m";
        let sites = [
            site(
                "production",
                &with(
                    GOOD,
                    &[("smtpuser", hostile), ("emailsubjectprefix", "a\nb = 1")],
                ),
            ),
            site(
                "staging",
                &with(
                    GOOD,
                    &[
                        ("smtpuser", hostile),
                        ("divertallemailsto", "s@example.edu"),
                    ],
                ),
            ),
        ];
        let p = propose_baseline(&sites, None, today()).unwrap();
        let b = Baseline::parse(&p.text, Path::new("b.toml"))
            .unwrap_or_else(|e| panic!("{e}\n{}", p.text));
        assert_eq!(
            b.settings.get("smtpuser").map(String::as_str),
            Some(hostile)
        );
        assert!(b.standard.owner.starts_with("TODO"));
        assert_eq!(b.may_differ, ["emailsubjectprefix"]);
        assert!(!p.text.contains('\u{1b}'));
    }

    #[test]
    fn what_init_cannot_tell_is_left_undecided_and_still_checks_clean_of_drift() {
        // No role from the name `library`, and a staging that mails real people.
        let sites = [
            site("production", GOOD),
            site(
                "library",
                &with(GOOD, &[("divertallemailsto", "x@example.edu")]),
            ),
            site("staging", GOOD),
        ];
        let p = propose_baseline(&sites, None, today()).unwrap();
        assert!(
            p.undecided
                .iter()
                .any(|u| u.starts_with("library: its role")),
            "{:?}",
            p.undecided
        );
        assert!(
            p.undecided
                .iter()
                .any(|u| u.starts_with("staging: the sink")),
            "{:?}",
            p.undecided
        );
        let b = Baseline::parse(&p.text, Path::new("b.toml")).unwrap();
        // Without a role, diversion differences are drift like any other: listed.
        assert_eq!(b.may_differ, ["divertallemailsto"]);
        assert_eq!(b.role("library"), None);
        let codes = first_check(&sites, &p);
        assert!(
            !codes.iter().any(|c| c == "MD201" || c == "MD101"),
            "{codes:?}"
        );
        assert!(
            codes.iter().any(|c| c == "MD305"),
            "staging's missing sink is named: {codes:?}"
        );
    }

    #[test]
    fn an_unknown_reference_names_the_environments() {
        let sites = [site("production", GOOD), site("staging", GOOD)];
        let err = propose_baseline(&sites, Some("prod"), today()).unwrap_err();
        assert!(err.contains("production, staging"), "{err}");
        let p = propose_baseline(&sites, Some("staging"), today()).unwrap();
        let b = Baseline::parse(&p.text, Path::new("b.toml")).unwrap();
        assert_eq!(b.drift_reference.as_deref(), Some("staging"));
    }
}
