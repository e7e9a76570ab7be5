//! Moodle's sender rules, checked without DNS: who mail comes from, through which relay,
//! and whether a non-production site can reach real people.

use crate::baseline::{Baseline, Role, guess_role};
use crate::compare::normalise::list_entries;
use crate::findings::{Finding, Kind, Severity};
use crate::snapshot::{Snapshot, Source};

pub const NOREPLY_INVALID: Kind = Kind {
    code: "MD301",
    name: "noreply-address-invalid",
    severity: Severity::Error,
    category: "sender",
    remedy: "Set noreplyaddress (Site administration > Server > Email > Outgoing mail configuration) to an address in a domain you control.",
};
pub const NOREPLY_DOMAIN_NOT_ALLOWED: Kind = Kind {
    code: "MD302",
    name: "noreply-domain-outside-allowed-domains",
    severity: Severity::Warning,
    category: "sender",
    remedy: "Use a noreply address in one of the allowedemaildomains (or add its domain), so one set of SPF/DKIM/DMARC records covers all From addresses.",
};
pub const PHP_MAIL: Kind = Kind {
    code: "MD303",
    name: "php-mail-instead-of-relay",
    severity: Severity::Error,
    category: "sender",
    remedy: "Set smtphosts to the organisation's relay; PHP mail() sends from the web server, which SPF rarely authorises.",
};
pub const PLAINTEXT_RELAY: Kind = Kind {
    code: "MD304",
    name: "relay-without-tls",
    severity: Severity::Error,
    category: "sender",
    remedy: "Set smtpsecure to tls (STARTTLS, usually port 587) or ssl (port 465) so credentials and mail are encrypted.",
};
pub const NOT_DIVERTING: Kind = Kind {
    code: "MD305",
    name: "staging-not-diverting",
    severity: Severity::Error,
    category: "sender",
    remedy: "Set divertallemailsto to a sink mailbox (or noemailever = 1) on every non-production site, forced in config.php.",
};
pub const PRODUCTION_DIVERTING: Kind = Kind {
    code: "MD306",
    name: "production-diverting",
    severity: Severity::Error,
    category: "sender",
    remedy: "Clear divertallemailsto on production: users receive nothing while it is set.",
};
pub const NOEMAILEVER: Kind = Kind {
    code: "MD307",
    name: "production-noemailever",
    severity: Severity::Error,
    category: "sender",
    remedy: "Remove $CFG->noemailever from production's config.php: it silently drops all mail.",
};
pub const DKIM_KEY_MISSING: Kind = Kind {
    code: "MD308",
    name: "dkim-key-file-missing",
    severity: Severity::Error,
    category: "sender",
    remedy: "Put the private key at $CFG->dataroot/dkim/<domain>/<selector>.private (readable by the web server) or clear emaildkimselector.",
};
pub const SMTP_USER_WITHOUT_PASSWORD: Kind = Kind {
    code: "MD309",
    name: "smtp-user-without-password",
    severity: Severity::Warning,
    category: "sender",
    remedy: "Set smtppass for smtpuser (or clear smtpuser if the relay needs no authentication).",
};
pub const DIVERT_ADDRESS_INVALID: Kind = Kind {
    code: "MD310",
    name: "divert-address-invalid",
    severity: Severity::Error,
    category: "sender",
    remedy: "Set divertallemailsto to one valid mailbox address; Moodle sends nothing useful to an invalid one.",
};
pub const PLUGIN_WARNING: Kind = Kind {
    code: "MD311",
    name: "plugin-warning",
    severity: Severity::Warning,
    category: "sender",
    remedy: "Read the plugin's warning: it names what it could not read (e.g. a DKIM key file the web server may not open); fix that on the site.",
};

/// Checks an address the way an admin would expect: one `@`, a non-empty local part, a dotted
/// domain, no white space.
pub fn valid_address(addr: &str) -> bool {
    let addr = addr.trim();
    let Some((local, domain)) = addr.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && !local.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !addr.chars().any(char::is_whitespace)
}

/// The lower-cased domain of an address.
pub fn domain_of(addr: &str) -> Option<String> {
    addr.trim()
        .rsplit_once('@')
        .map(|(_, d)| d.to_ascii_lowercase())
        .filter(|d| !d.is_empty())
}

/// Whether `domain` equals or is a subdomain of an allowedemaildomains entry (`*.x` and `.x`
/// entries match subdomains of x).
pub fn within_allowed(domain: &str, allowed: &[String]) -> bool {
    allowed.iter().any(|entry| {
        let base = entry.trim_start_matches("*.").trim_start_matches('.');
        domain == base || domain.ends_with(&format!(".{base}"))
    })
}

fn is_loopback_host(entry: &str) -> bool {
    let host = entry
        .trim()
        .rsplit_once(':')
        .map_or(entry.trim(), |(h, _)| h);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

pub fn check(snap: &Snapshot, baseline: Option<&Baseline>) -> Vec<Finding> {
    let env = snap.environment.as_str();
    let role = baseline.map_or_else(|| guess_role(env), |b| b.role(env));
    let production = role == Some(Role::Production);
    let mut out = Vec::new();

    // What the plugin could not read makes other findings incomplete; say so, never drop it.
    for w in &snap.warnings {
        out.push(
            Finding::new(&PLUGIN_WARNING, format!("The plugin warned: {w}"))
                .env(env)
                .subject("plugin"),
        );
    }

    let noreply = snap.value("noreplyaddress").trim();
    if !valid_address(noreply) {
        out.push(
            Finding::new(
                &NOREPLY_INVALID,
                if noreply.is_empty() {
                    "noreplyaddress is not set: Moodle falls back to noreply@<site host>"
                        .to_string()
                } else {
                    format!("noreplyaddress `{noreply}` is not a valid address")
                },
            )
            .env(env)
            .subject("noreplyaddress")
            .actual(noreply),
        );
    } else if let Some(domain) = domain_of(noreply) {
        let allowed = list_entries("allowedemaildomains", snap.value("allowedemaildomains"));
        if !allowed.is_empty() && !within_allowed(&domain, &allowed) {
            out.push(
                Finding::new(
                    &NOREPLY_DOMAIN_NOT_ALLOWED,
                    format!(
                        "noreply domain {domain} is outside allowedemaildomains ({})",
                        allowed.join(", ")
                    ),
                )
                .env(env)
                .subject("noreplyaddress")
                .expected(format!("an address in {}", allowed.join(", ")))
                .actual(noreply),
            );
        }
    }

    let hosts = list_entries("smtphosts", snap.value("smtphosts"));
    if hosts.is_empty() {
        out.push(
            Finding::new(
                &PHP_MAIL,
                "smtphosts is empty: Moodle sends with PHP mail() from the web server",
            )
            .env(env)
            .subject("smtphosts")
            .expected("the organisation's relay")
            .actual("")
            .severity(if production {
                Severity::Error
            } else {
                Severity::Warning
            }),
        );
    } else if production
        && snap.value("smtpsecure").trim().is_empty()
        && !hosts.iter().all(|h| is_loopback_host(h))
    {
        out.push(
            Finding::new(
                &PLAINTEXT_RELAY,
                format!(
                    "mail goes to {} without TLS (smtpsecure is empty)",
                    hosts.join(", ")
                ),
            )
            .env(env)
            .subject("smtpsecure")
            .expected("tls or ssl")
            .actual(""),
        );
    }

    let divert = snap.value("divertallemailsto").trim();
    let noemailever = snap.flag("noemailever");
    if !divert.is_empty() && !valid_address(divert) {
        out.push(
            Finding::new(
                &DIVERT_ADDRESS_INVALID,
                format!("divertallemailsto `{divert}` is not a valid address"),
            )
            .env(env)
            .subject("divertallemailsto")
            .actual(divert),
        );
    }
    // When the standard states the diversion for this environment, conformance reports any
    // difference; saying it twice would only add noise.
    let divert_pinned = baseline.is_some_and(|b| b.pins(env, "divertallemailsto"));
    match role {
        _ if divert_pinned => {}
        Some(Role::Staging) if divert.is_empty() && !noemailever => out.push(
            Finding::new(
                &NOT_DIVERTING,
                "a non-production site sends mail to real recipients: divertallemailsto is empty",
            )
            .env(env)
            .subject("divertallemailsto")
            .expected("a sink address")
            .actual(""),
        ),
        Some(Role::Production) if !divert.is_empty() => out.push(
            Finding::new(
                &PRODUCTION_DIVERTING,
                format!("all mail is diverted to {divert}"),
            )
            .env(env)
            .subject("divertallemailsto")
            .expected("")
            .actual(divert),
        ),
        _ => {}
    }
    if production && noemailever {
        out.push(
            Finding::new(
                &NOEMAILEVER,
                "noemailever is on: production sends no mail at all",
            )
            .env(env)
            .subject("noemailever")
            .expected("0")
            .actual(snap.value("noemailever")),
        );
    }

    let selector = snap.value("emaildkimselector").trim();
    // An imported snapshot can't see dataroot, so only plugin snapshots can prove a key missing.
    if !selector.is_empty() && snap.source == Source::Plugin {
        for key in snap.dkim.iter().filter(|k| !k.keyfile) {
            out.push(
                Finding::new(
                    &DKIM_KEY_MISSING,
                    format!("selector {selector} is set but Moodle has no key file for {}: mail from it is unsigned", key.domain),
                )
                .env(env)
                .subject(format!("dkim/{}/{selector}.private", key.domain))
                .expected("key file present")
                .actual("missing"),
            );
        }
    }

    if !snap.value("smtpuser").trim().is_empty()
        && !snap.secrets.get("smtppass").copied().unwrap_or(false)
    {
        out.push(
            Finding::new(
                &SMTP_USER_WITHOUT_PASSWORD,
                "smtpuser is set but smtppass is not",
            )
            .env(env)
            .subject("smtppass")
            .expected("set")
            .actual("not set"),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::snapshot;
    use crate::snapshot::DkimKey;

    fn codes(f: &[Finding]) -> Vec<&str> {
        f.iter().map(|f| f.code.as_str()).collect()
    }

    const GOOD: &[(&str, &str)] = &[
        ("noreplyaddress", "noreply@moodle.example.edu"),
        ("allowedemaildomains", "example.edu"),
        ("smtphosts", "relay.example.edu:587"),
        ("smtpsecure", "tls"),
        ("smtpuser", "moodle"),
    ];

    #[test]
    fn well_configured_production_raises_nothing() {
        assert!(check(&snapshot("production", GOOD), None).is_empty());
    }

    #[test]
    fn missing_noreply_is_an_error() {
        let s = snapshot(
            "production",
            &[("smtphosts", "r:587"), ("smtpsecure", "tls")],
        );
        assert_eq!(codes(&check(&s, None)), ["MD301"]);
    }

    #[test]
    fn noreply_outside_allowed_domains_is_a_warning() {
        let mut values = GOOD.to_vec();
        values[0] = ("noreplyaddress", "noreply@other.org");
        assert_eq!(
            codes(&check(&snapshot("production", &values), None)),
            ["MD302"]
        );
    }

    #[test]
    fn php_mail_is_an_error_on_production_and_a_warning_elsewhere() {
        let mut values = GOOD.to_vec();
        values[2] = ("smtphosts", "");
        let p = check(&snapshot("production", &values), None);
        assert_eq!(
            (p[0].code.as_str(), p[0].severity),
            ("MD303", Severity::Error)
        );
        let mut values = values.clone();
        values.push(("divertallemailsto", "sink@example.edu"));
        let s = check(&snapshot("staging", &values), None);
        assert_eq!(
            (s[0].code.as_str(), s[0].severity),
            ("MD303", Severity::Warning)
        );
    }

    #[test]
    fn plaintext_relay_on_production_is_an_error_but_local_mta_is_fine() {
        let mut values = GOOD.to_vec();
        values[3] = ("smtpsecure", "");
        assert_eq!(
            codes(&check(&snapshot("production", &values), None)),
            ["MD304"]
        );
        values[2] = ("smtphosts", "localhost:25");
        assert!(check(&snapshot("production", &values), None).is_empty());
    }

    #[test]
    fn staging_must_divert_and_production_must_not() {
        assert_eq!(codes(&check(&snapshot("staging", GOOD), None)), ["MD305"]);
        let mut values = GOOD.to_vec();
        values.push(("divertallemailsto", "sink@example.edu"));
        assert!(check(&snapshot("staging", &values), None).is_empty());
        assert_eq!(
            codes(&check(&snapshot("production", &values), None)),
            ["MD306"]
        );
    }

    #[test]
    fn noemailever_counts_as_diverting_on_staging_and_is_an_error_on_production() {
        let mut values = GOOD.to_vec();
        values.push(("noemailever", "1"));
        assert!(check(&snapshot("staging", &values), None).is_empty());
        assert_eq!(
            codes(&check(&snapshot("production", &values), None)),
            ["MD307"]
        );
    }

    #[test]
    fn selector_without_key_file_is_an_error() {
        let mut values = GOOD.to_vec();
        values.push(("emaildkimselector", "md2026"));
        let mut s = snapshot("production", &values);
        s.dkim.push(DkimKey {
            domain: "moodle.example.edu".into(),
            selector: "md2026".into(),
            keyfile: false,
            publickey: String::new(),
        });
        assert_eq!(codes(&check(&s, None)), ["MD308"]);
    }

    #[test]
    fn smtp_user_without_password_is_a_warning() {
        let mut s = snapshot("production", GOOD);
        s.secrets.insert("smtppass".into(), false);
        assert_eq!(codes(&check(&s, None)), ["MD309"]);
    }

    #[test]
    fn invalid_divert_address_is_an_error() {
        let mut values = GOOD.to_vec();
        values.push(("divertallemailsto", "not-an-address"));
        assert_eq!(
            codes(&check(&snapshot("staging", &values), None)),
            ["MD310"]
        );
    }

    #[test]
    fn wildcard_allowed_domains_cover_subdomains() {
        assert!(within_allowed(
            "moodle.example.edu",
            &["*.example.edu".into()]
        ));
        assert!(within_allowed(
            "moodle.example.edu",
            &["example.edu".into()]
        ));
        assert!(!within_allowed("example.org", &["example.edu".into()]));
    }
}
