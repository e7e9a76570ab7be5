//! [`EnvironmentRelay`]: one site's relay facts, as shown and serialised.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::moodle::protocol::{OauthState, RelayFacts, RelayProbe};

/// What one Moodle server saw of its relays, and the settings it probed with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvironmentRelay {
    pub environment: String,
    /// When the site probed (answers up to a minute old are reused by the plugin).
    pub probed_at: Timestamp,
    pub cached: bool,
    pub smtphosts: String,
    pub smtpsecure: String,
    pub smtpauthtype: String,
    /// Whether smtpuser is set, i.e. whether Moodle authenticates.
    pub smtpuser_set: bool,
    pub relays: Vec<RelayFacts>,
    /// The XOAUTH2 issuer, when smtpauthtype is XOAUTH2.
    pub oauth: Option<OauthState>,
}

impl EnvironmentRelay {
    /// Reduces the plugin's answer; a `probedat` of 0 or out of range is taken as `fallback_now`.
    pub fn from_probe(environment: &str, p: &RelayProbe, fallback_now: Timestamp) -> Self {
        let probed_at = if p.probedat > 0 {
            Timestamp::from_second(p.probedat).unwrap_or(fallback_now)
        } else {
            fallback_now
        };
        EnvironmentRelay {
            environment: environment.to_string(),
            probed_at,
            cached: p.cached,
            smtphosts: p.smtphosts.clone(),
            smtpsecure: p.smtpsecure.clone(),
            smtpauthtype: p.smtpauthtype.clone(),
            smtpuser_set: p.smtpuserset,
            relays: p.relays.clone(),
            oauth: p.oauth.checked.then(|| p.oauth.clone()),
        }
    }
}

/// `host:port` of a relay, the subject of its findings.
pub(crate) fn subject(r: &RelayFacts) -> String {
    if r.host.contains(':') {
        format!("[{}]:{}", r.host, r.port)
    } else {
        format!("{}:{}", r.host, r.port)
    }
}
