//! Turning relay facts into findings.

use std::net::IpAddr;

use jiff::Timestamp;

use super::model::subject;
use super::{EnvironmentRelay, RelayPolicy};
use crate::findings::Finding;
use crate::moodle::protocol::{OauthState, RelayFacts};

/// Hosts of a provider that has retired basic authentication (LOGIN/PLAIN) for SMTP:
/// Microsoft 365 / Exchange Online.
const BASIC_AUTH_RETIRED_HOSTS: &[&str] = &["smtp.office365.com", "outlook.office365.com"];

/// Mechanisms PHPMailer tries, in its order, when smtpauthtype is empty.
const PHPMAILER_AUTO: &[&str] = &["CRAM-MD5", "LOGIN", "PLAIN", "XOAUTH2"];

/// Rank of a TLS version written as `1.2`, `TLSv1.2` or `TLSv1` (what PHP reports).
pub fn tls_rank(version: &str) -> Option<u8> {
    let v = version.trim();
    let v = v.strip_prefix("TLSv").unwrap_or(v);
    match v {
        "1" | "1.0" => Some(10),
        "1.1" => Some(11),
        "1.2" => Some(12),
        "1.3" => Some(13),
        _ => None,
    }
}

fn date(secs: i64) -> String {
    Timestamp::from_second(secs)
        .map(|t| t.strftime("%Y-%m-%d").to_string())
        .unwrap_or_else(|_| secs.to_string())
}

/// Findings for one site's relay facts against `policy`, at `now`.
pub fn evaluate(r: &EnvironmentRelay, policy: &RelayPolicy, now: Timestamp) -> Vec<Finding> {
    let env = r.environment.as_str();
    let mut out = Vec::new();
    for relay in &r.relays {
        relay_findings(r, relay, policy, now, &mut out);
    }
    if let Some(o) = &r.oauth {
        oauth_findings(env, o, &mut out);
    }
    out
}

fn relay_findings(
    r: &EnvironmentRelay,
    relay: &RelayFacts,
    policy: &RelayPolicy,
    now: Timestamp,
    out: &mut Vec<Finding>,
) {
    let env = r.environment.as_str();
    let subj = subject(relay);
    let at = |f: Finding| f.env(env).subject(subj.clone());

    // Independent of what the probe saw: the provider refuses the configured login.
    let host = relay.host.trim_end_matches('.').to_ascii_lowercase();
    let authtype = r.smtpauthtype.trim().to_ascii_uppercase();
    if r.smtpuser_set && authtype != "XOAUTH2" && BASIC_AUTH_RETIRED_HOSTS.contains(&host.as_str())
    {
        let how = if authtype.is_empty() {
            "LOGIN/PLAIN (smtpauthtype empty)".to_string()
        } else {
            authtype.clone()
        };
        out.push(at(Finding::new(
            &super::BASIC_AUTH_RETIRED,
            format!("Moodle logs in to {host} with {how}; Microsoft 365 has retired basic authentication for SMTP and refuses it."),
        )
        .expected("smtpauthtype = XOAUTH2")
        .actual(how)));
    }

    if relay.stage == "budget" {
        // Not probed: the relays before it took the probe's time; their findings say why.
        return;
    }
    if relay.stage == "invalidhost" {
        out.push(at(Finding::new(
            &super::UNREACHABLE,
            format!("`{}` in smtphosts: {}.", relay.entry, relay.error),
        )
        .actual(relay.entry.clone())));
        return;
    }
    if !relay.reachable {
        match relay.portspeaks.as_str() {
            "tls" => out.push(at(Finding::new(
                &super::TLS_MODE_MISMATCH,
                format!("Port {} speaks implicit TLS, but Moodle talks plain SMTP to it (smtpsecure = {}).", relay.port, shown(&r.smtpsecure)),
            )
            .expected("smtpsecure = ssl")
            .actual(format!("smtpsecure = {}", shown(&r.smtpsecure))))),
            "smtp" => out.push(at(Finding::new(
                &super::TLS_MODE_MISMATCH,
                format!("Port {} speaks plain SMTP, but Moodle starts with a TLS handshake (smtpsecure = ssl).", relay.port),
            )
            .expected("smtpsecure = tls (STARTTLS) or an implicit-TLS port")
            .actual("smtpsecure = ssl"))),
            _ => out.push(at(Finding::new(
                &super::UNREACHABLE,
                format!("Moodle cannot reach the relay ({}: {}).", relay.stage, relay.error),
            )
            .expected("an SMTP greeting")
            .actual(relay.error.clone()))),
        }
        return;
    }
    match relay.stage.as_str() {
        "" => {}
        "starttls" if !relay.starttlsoffered => {
            out.push(at(Finding::new(
                &super::STARTTLS_MISSING,
                "smtpsecure = tls, but the relay does not offer STARTTLS: Moodle's mailer fails before sending.",
            )
            .expected("STARTTLS in the EHLO answer")
            .actual(if relay.extensions.is_empty() { "no extensions".to_string() } else { relay.extensions.join(", ") })));
            return;
        }
        stage => {
            out.push(at(Finding::new(
                &super::UNREACHABLE,
                format!(
                    "The relay answers, but the session fails at {stage}: {}.",
                    relay.error
                ),
            )
            .expected("a session ready for authentication")
            .actual(relay.error.clone())));
            return;
        }
    }

    if relay.tls.protocol.is_empty() {
        plain_findings(r, relay, policy, &at, out);
    } else {
        tls_findings(relay, policy, now, &at, out);
    }
    if r.smtpuser_set {
        auth_findings(&authtype, relay, &at, out);
    }
}

fn shown(v: &str) -> &str {
    if v.is_empty() { "(empty)" } else { v }
}

fn plain_findings(
    r: &EnvironmentRelay,
    relay: &RelayFacts,
    policy: &RelayPolicy,
    at: &dyn Fn(Finding) -> Finding,
    out: &mut Vec<Finding>,
) {
    if !policy.require_tls {
        return;
    }
    let addr: Option<IpAddr> = relay.address.parse().ok();
    let exempt = addr.is_some_and(|a| {
        a.is_loopback() || policy.plain_allowed_networks.iter().any(|n| n.contains(&a))
    });
    if exempt {
        return;
    }
    let offers = if relay.starttlsoffered {
        " The relay offers STARTTLS: smtpsecure = tls would use it."
    } else {
        ""
    };
    out.push(at(Finding::new(
        &super::PLAINTEXT,
        format!(
            "Mail and credentials go unencrypted to {} (smtpsecure = {}).{offers}",
            if relay.address.is_empty() {
                relay.host.as_str()
            } else {
                relay.address.as_str()
            },
            shown(&r.smtpsecure)
        ),
    )
    .expected("TLS (smtpsecure = tls or ssl)")
    .actual("plain SMTP")));
}

fn tls_findings(
    relay: &RelayFacts,
    policy: &RelayPolicy,
    now: Timestamp,
    at: &dyn Fn(Finding) -> Finding,
    out: &mut Vec<Finding>,
) {
    if let Some((min, written)) = &policy.min_tls_version
        && tls_rank(&relay.tls.protocol).is_some_and(|got| got < *min)
    {
        out.push(at(Finding::new(
            &super::TLS_VERSION_LOW,
            format!(
                "The relay negotiates {}; the standard asks for TLS {written} or newer.",
                relay.tls.protocol
            ),
        )
        .expected(format!("TLS {written} or newer"))
        .actual(relay.tls.protocol.clone())));
    }
    let c = &relay.cert;
    if !c.present {
        return;
    }
    let now_s = now.as_second();
    let expired = c.validto > 0 && c.validto < now_s;
    let not_yet = c.validfrom > now_s;
    if expired || not_yet {
        let what = if expired {
            format!("expired on {}", date(c.validto))
        } else {
            format!("is valid only from {}", date(c.validfrom))
        };
        out.push(at(Finding::new(
            &super::CERT_EXPIRED,
            format!(
                "The relay's certificate ({}) {what}; Moodle refuses the TLS handshake.",
                c.subject
            ),
        )
        .expected("a certificate valid now")
        .actual(format!(
            "valid {} to {}",
            date(c.validfrom),
            date(c.validto)
        ))));
    } else if policy.cert_expiry_warning_days > 0
        && c.validto - now_s < i64::from(policy.cert_expiry_warning_days) * 86_400
    {
        let days = (c.validto - now_s) / 86_400;
        out.push(at(Finding::new(
            &super::CERT_EXPIRING,
            format!(
                "The relay's certificate ({}) expires on {} ({days} day(s) left).",
                c.subject,
                date(c.validto)
            ),
        )
        .expected(format!(
            "valid for at least {} more days",
            policy.cert_expiry_warning_days
        ))
        .actual(format!("expires {}", date(c.validto)))));
    }
    if !c.namematches {
        out.push(at(Finding::new(
            &super::CERT_NAME_MISMATCH,
            format!(
                "The relay's certificate does not name {}; Moodle refuses the TLS handshake.",
                relay.host
            ),
        )
        .expected(relay.host.clone())
        .actual(if c.sans.is_empty() {
            c.subject.clone()
        } else {
            c.sans.join(", ")
        })));
    }
    if !c.verified && c.namematches && !expired && !not_yet {
        out.push(at(Finding::new(
            &super::CERT_UNTRUSTED,
            format!(
                "The Moodle server does not trust the relay's certificate (issuer {}): {}.",
                c.issuer, c.verifyerror
            ),
        )
        .expected("a chain to a CA in the server's store")
        .actual(format!("issued by {}", c.issuer))));
    }
}

fn auth_findings(
    authtype: &str,
    relay: &RelayFacts,
    at: &dyn Fn(Finding) -> Finding,
    out: &mut Vec<Finding>,
) {
    let offered = &relay.authmechanisms;
    if offered.is_empty() {
        out.push(at(Finding::new(
            &super::AUTH_NOT_OFFERED,
            "smtpuser is set, so Moodle logs in, but the relay offers no AUTH on this connection; sending fails.",
        )
        .expected("AUTH in the EHLO answer")
        .actual("no AUTH")));
        return;
    }
    let usable = if authtype.is_empty() {
        PHPMAILER_AUTO
            .iter()
            .any(|m| offered.iter().any(|o| o == m))
    } else {
        offered.iter().any(|o| o == authtype)
    };
    if !usable {
        let wanted = if authtype.is_empty() {
            format!("one of {} (smtpauthtype empty)", PHPMAILER_AUTO.join(", "))
        } else {
            authtype.to_string()
        };
        out.push(at(Finding::new(
            &super::AUTH_MECHANISM_MISSING,
            format!(
                "Moodle logs in with {wanted}, but the relay offers only {}.",
                offered.join(", ")
            ),
        )
        .expected(wanted)
        .actual(offered.join(" "))));
    }
}

fn oauth_findings(env: &str, o: &OauthState, out: &mut Vec<Finding>) {
    let subj = format!("smtpoauthservice = {}", o.serviceid);
    let problem = if !o.exists {
        Some("names no OAuth 2 service".to_string())
    } else if !o.enabled {
        Some(format!(
            "names the service \"{}\", which is disabled",
            o.name
        ))
    } else if !o.configured {
        Some(format!(
            "names the service \"{}\", which is not fully configured",
            o.name
        ))
    } else {
        None
    };
    if let Some(p) = problem {
        out.push(
            Finding::new(
                &super::OAUTH_ISSUER_UNUSABLE,
                format!("smtpauthtype = XOAUTH2, but smtpoauthservice {p}: Moodle sends no mail (and says so only in debug output)."),
            )
            .env(env)
            .subject(subj)
            .expected("an enabled, configured OAuth 2 service")
            .actual(p),
        );
        return;
    }
    let problem = if !o.connected {
        Some("its system account is not connected (or lacks scopes)".to_string())
    } else if o.refreshfailing {
        Some("Moodle's system token refresh task is failing".to_string())
    } else {
        None
    };
    if let Some(p) = problem {
        let last = if o.accountmodified > 0 {
            format!(" Last renewal: {}.", date(o.accountmodified))
        } else {
            String::new()
        };
        out.push(
            Finding::new(
                &super::OAUTH_DISCONNECTED,
                format!("The XOAUTH2 service \"{}\": {p}; Moodle cannot get an access token to send mail.{last}", o.name),
            )
            .env(env)
            .subject(subj)
            .expected("a connected system account, refreshed by cron")
            .actual(p),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::moodle::protocol::RelayProbe;

    /// A probe answer as the plugin gives it: one relay that failed at connect (no facts), and
    /// the XOAUTH2 state.
    fn answer(host: &str, authtype: &str, oauth: &str) -> EnvironmentRelay {
        let text = format!(
            r#"{{"generatedat":1795940000,"probedat":1795940000,"cached":false,"smtphosts":"{host}:587","smtpsecure":"tls","smtpauthtype":"{authtype}","smtpuserset":true,
            "relays":[{{"entry":"{host}:587","host":"{host}","port":587,"mode":"starttls","reachable":true,"stage":"","error":"","address":"192.0.2.1","ehloname":"moodle","greeting":"220 x","starttlsoffered":true,"extensions":["AUTH LOGIN XOAUTH2"],"authmechanisms":["LOGIN","XOAUTH2"],"portspeaks":"","tls":{{"protocol":"TLSv1.3","cipher":"TLS_AES_256_GCM_SHA384","bits":256}},"cert":{{"present":true,"subject":"CN={host}","issuer":"CN=CA","sans":["DNS:{host}"],"validfrom":1700000000,"validto":1900000000,"namematches":true,"verified":true,"verifyerror":""}},"durationms":40}}],
            "oauth":{oauth},"warnings":[]}}"#
        );
        let p: RelayProbe = serde_json::from_str(&text).unwrap();
        EnvironmentRelay::from_probe("production", &p, Timestamp::UNIX_EPOCH)
    }

    const NO_OAUTH: &str = r#"{"checked":false,"serviceid":0,"exists":false,"name":"","enabled":false,"configured":false,"connected":false,"accountmodified":0,"tokenexpires":0,"tokenmodified":0,"refreshlastrun":0,"refreshfailing":false}"#;

    fn oauth(exists: bool, enabled: bool, connected: bool, failing: bool) -> String {
        format!(
            r#"{{"checked":true,"serviceid":3,"exists":{exists},"name":"Microsoft","enabled":{enabled},"configured":true,"connected":{connected},"accountmodified":1795000000,"tokenexpires":1795943600,"tokenmodified":1795940000,"refreshlastrun":1795939000,"refreshfailing":{failing}}}"#
        )
    }

    fn codes(r: &EnvironmentRelay) -> Vec<String> {
        let now = Timestamp::from_second(1795940000).unwrap();
        evaluate(r, &RelayPolicy::default(), now)
            .into_iter()
            .map(|f| f.code)
            .collect()
    }

    #[test]
    fn basic_auth_against_microsoft_365_is_md164_with_the_xoauth2_remedy() {
        for host in ["smtp.office365.com", "Outlook.Office365.com."] {
            let r = answer(host, "LOGIN", NO_OAUTH);
            let f = evaluate(
                &r,
                &RelayPolicy::default(),
                Timestamp::from_second(1795940000).unwrap(),
            );
            assert_eq!(f.len(), 1, "{f:?}");
            assert_eq!(f[0].code, "MD164");
            assert!(f[0].remedy.contains("XOAUTH2"));
        }
        assert_eq!(
            codes(&answer("smtp.office365.com", "", NO_OAUTH)),
            ["MD164"]
        );
        assert_eq!(
            codes(&answer("relay.example.org", "LOGIN", NO_OAUTH)),
            Vec::<String>::new()
        );
        let fine = answer(
            "smtp.office365.com",
            "XOAUTH2",
            &oauth(true, true, true, false),
        );
        assert_eq!(codes(&fine), Vec::<String>::new());
    }

    #[test]
    fn missing_or_disabled_xoauth2_issuer_is_md162() {
        let missing = answer(
            "smtp.office365.com",
            "XOAUTH2",
            &oauth(false, false, false, false),
        );
        assert_eq!(codes(&missing), ["MD162"]);
        let disabled = answer(
            "smtp.office365.com",
            "XOAUTH2",
            &oauth(true, false, true, false),
        );
        assert_eq!(codes(&disabled), ["MD162"]);
    }

    #[test]
    fn disconnected_account_or_failing_refresh_is_md163() {
        let r = answer(
            "smtp.office365.com",
            "XOAUTH2",
            &oauth(true, true, false, false),
        );
        assert_eq!(codes(&r), ["MD163"]);
        let r = answer(
            "smtp.office365.com",
            "XOAUTH2",
            &oauth(true, true, true, true),
        );
        let f = evaluate(
            &r,
            &RelayPolicy::default(),
            Timestamp::from_second(1795940000).unwrap(),
        );
        assert_eq!(f[0].code, "MD163");
        assert!(
            f[0].message.contains("refresh task is failing"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn tls_versions_rank_in_order_whatever_the_spelling() {
        assert_eq!(tls_rank("TLSv1"), tls_rank("1.0"));
        assert!(tls_rank("TLSv1.2") < tls_rank("TLSv1.3"));
        assert_eq!(tls_rank("SSLv3"), None);
    }
}
