//! Relay truth: what the relays in `smtphosts` really offer, seen from the Moodle server.
//!
//! - [`EnvironmentRelay`] is one site's answer to `local_maildrift_probe_relay`: per relay the
//!   greeting, EHLO extensions, TLS and certificate, and the XOAUTH2 issuer's state.
//! - [`RelayPolicy`] is the baseline's `[relay]` table (`baselines/README.md`).
//! - [`evaluate`] turns the facts into findings (codes MD15x/MD16x, `docs/findings-relay.md`).
//! - [`facts`]/[`differences`] compare two sites' relays (`diff`); [`check_groups`] checks the
//!   baseline's `same_relay`/`separate_relay` groups (MD165/MD166).
//! - [`fetch_many`] and [`relay_external`] read the sites live, for `health` and `check`.

mod compare;
mod evaluate;
mod model;
mod policy;
mod run;
mod text;

pub use compare::{check_groups, differences, facts};
pub use evaluate::{evaluate, tls_rank};
pub use model::EnvironmentRelay;
pub use policy::RelayPolicy;
pub use run::{RelayRun, Unavailable, fetch, fetch_many, relay_external};
pub use text::describe;

use crate::findings::{Kind, Severity};

/// Category of the relay findings; also the name of their [`crate::report::CheckRun`].
pub const CATEGORY: &str = "relay-probe";

pub const UNREACHABLE: Kind = Kind {
    code: "MD151",
    name: "relay-unreachable",
    severity: Severity::Error,
    category: CATEGORY,
    remedy: "From the Moodle server, check the relay's name, port and firewall (e.g. `nc -v HOST PORT`); until an SMTP session gets as far as authentication there, Moodle sends no mail.",
};
pub const STARTTLS_MISSING: Kind = Kind {
    code: "MD152",
    name: "relay-starttls-missing",
    severity: Severity::Error,
    category: CATEGORY,
    remedy: "smtpsecure = tls needs STARTTLS: enable it on the relay (with a certificate for its name), or point smtphosts at a relay or port that offers it.",
};
pub const TLS_MODE_MISMATCH: Kind = Kind {
    code: "MD153",
    name: "relay-tls-mode-mismatch",
    severity: Severity::Error,
    category: CATEGORY,
    remedy: "Match smtpsecure to the port: ssl for implicit TLS (usually 465), tls for STARTTLS (usually 587 or 25).",
};
pub const CERT_NAME_MISMATCH: Kind = Kind {
    code: "MD154",
    name: "relay-cert-name-mismatch",
    severity: Severity::Error,
    category: CATEGORY,
    remedy: "Use in smtphosts the name the relay's certificate is issued for, or give the relay a certificate that names the host Moodle connects to.",
};
pub const CERT_UNTRUSTED: Kind = Kind {
    code: "MD155",
    name: "relay-cert-untrusted",
    severity: Severity::Error,
    category: CATEGORY,
    remedy: "Give the relay a certificate from a CA the Moodle server trusts (with its intermediate certificates), or add the internal CA to the server's CA store (openssl.cafile).",
};
pub const CERT_EXPIRED: Kind = Kind {
    code: "MD156",
    name: "relay-cert-expired",
    severity: Severity::Error,
    category: CATEGORY,
    remedy: "Renew the relay's certificate now: Moodle refuses the TLS handshake and no mail leaves.",
};
pub const CERT_EXPIRING: Kind = Kind {
    code: "MD157",
    name: "relay-cert-expiring",
    severity: Severity::Warning,
    category: CATEGORY,
    remedy: "Renew the relay's certificate (or check that automatic renewal works) before it expires.",
};
pub const TLS_VERSION_LOW: Kind = Kind {
    code: "MD158",
    name: "relay-tls-version-low",
    severity: Severity::Error,
    category: CATEGORY,
    remedy: "Enable a newer TLS version on the relay, or lower min_tls_version in the baseline's [relay] table if the standard allows it.",
};
pub const AUTH_MECHANISM_MISSING: Kind = Kind {
    code: "MD159",
    name: "relay-auth-mechanism-missing",
    severity: Severity::Error,
    category: CATEGORY,
    remedy: "Set smtpauthtype to a mechanism the relay offers (see its AUTH line), or enable that mechanism on the relay.",
};
pub const AUTH_NOT_OFFERED: Kind = Kind {
    code: "MD160",
    name: "relay-auth-not-offered",
    severity: Severity::Error,
    category: CATEGORY,
    remedy: "Moodle logs in because smtpuser is set, but the relay offers no AUTH: clear smtpuser/smtppass if the relay accepts the server by address, or enable authentication on it.",
};
pub const PLAINTEXT: Kind = Kind {
    code: "MD161",
    name: "relay-plaintext",
    severity: Severity::Error,
    category: CATEGORY,
    remedy: "Set smtpsecure to tls (or ssl for an implicit-TLS port) so mail and credentials are encrypted; the standard requires TLS outside loopback and plain_allowed_networks.",
};
pub const OAUTH_ISSUER_UNUSABLE: Kind = Kind {
    code: "MD162",
    name: "xoauth2-issuer-unusable",
    severity: Severity::Error,
    category: CATEGORY,
    remedy: "Set smtpoauthservice to an enabled, fully configured OAuth 2 service (Site administration > Server > OAuth 2 services); with XOAUTH2 Moodle cannot send without one.",
};
pub const OAUTH_DISCONNECTED: Kind = Kind {
    code: "MD163",
    name: "xoauth2-account-disconnected",
    severity: Severity::Error,
    category: CATEGORY,
    remedy: "Reconnect the service's system account (Site administration > Server > OAuth 2 services > Connect to a system account) and make sure cron runs the token refresh task.",
};
pub const BASIC_AUTH_RETIRED: Kind = Kind {
    code: "MD164",
    name: "basic-auth-retired",
    severity: Severity::Error,
    category: CATEGORY,
    remedy: "Microsoft 365 no longer accepts LOGIN/PLAIN for SMTP: register an app in Entra ID, add it as a Microsoft OAuth 2 service in Moodle, connect its system account, then set smtpauthtype = XOAUTH2 and smtpoauthservice to it.",
};

pub const RELAY_DIFFERS: Kind = Kind {
    code: "MD165",
    name: "relay-differs",
    severity: Severity::Error,
    category: CATEGORY,
    remedy: "The standard says these environments use the same relay: align smtphosts/smtpsecure, or the relays behind them, or change same_relay in the baseline's [relay] table.",
};
pub const RELAY_SHARED: Kind = Kind {
    code: "MD166",
    name: "relay-shared",
    severity: Severity::Error,
    category: CATEGORY,
    remedy: "The standard says these environments use separate relays (e.g. staging must not send through production's): point smtphosts at the environment's own relay, or change separate_relay in the baseline's [relay] table.",
};

/// Finding codes raised by the relay checks.
pub const KINDS: &[Kind] = &[
    UNREACHABLE,
    STARTTLS_MISSING,
    TLS_MODE_MISMATCH,
    CERT_NAME_MISMATCH,
    CERT_UNTRUSTED,
    CERT_EXPIRED,
    CERT_EXPIRING,
    TLS_VERSION_LOW,
    AUTH_MECHANISM_MISSING,
    AUTH_NOT_OFFERED,
    PLAINTEXT,
    OAUTH_ISSUER_UNUSABLE,
    OAUTH_DISCONNECTED,
    BASIC_AUTH_RETIRED,
    RELAY_DIFFERS,
    RELAY_SHARED,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_in_range_and_documented() {
        let doc = include_str!("../../docs/findings-relay.md");
        let mut codes: Vec<&str> = KINDS.iter().map(|k| k.code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), KINDS.len());
        for k in KINDS {
            assert!(k.code.starts_with("MD15") || k.code.starts_with("MD16"));
            assert_eq!(k.category, CATEGORY);
            assert!(!k.remedy.is_empty() && !k.remedy.contains('\n'));
            assert!(
                doc.contains(&format!("## {} ", k.code)) && doc.contains(k.name),
                "{} missing from docs/findings-relay.md",
                k.code
            );
        }
    }
}
