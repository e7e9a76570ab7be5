//! The JSON shapes Moodle's REST server (`moodlewsrestformat=json`) answers with.
//!
//! Structures ignore fields they don't know, so a newer plugin that adds fields keeps working,
//! but every documented field is required: a missing one means the plugin on the site does not
//! match this maildrift, which must be reported rather than guessed around.

use serde::{Deserialize, Serialize};

/// Core function that answers who the token belongs to and what it may call.
pub const FN_SITE_INFO: &str = "core_webservice_get_site_info";
/// `local_maildrift` function returning the outgoing-mail settings.
pub const FN_MAIL_CONFIG: &str = "local_maildrift_get_mail_config";
/// `local_maildrift` function returning cron, task queue and failed-mail figures.
pub const FN_MAIL_HEALTH: &str = "local_maildrift_get_mail_health";
/// `local_maildrift` function sending one test message.
pub const FN_SEND_TEST_MAIL: &str = "local_maildrift_send_test_mail";
/// `local_maildrift` function probing the relays in `smtphosts` from the Moodle server.
pub const FN_PROBE_RELAY: &str = "local_maildrift_probe_relay";
/// Prefix of every function the companion plugin provides.
pub const PLUGIN_PREFIX: &str = "local_maildrift_";
/// Capability the plugin requires for reading the mail configuration and health.
pub const CAP_VIEW_CONFIG: &str = "local/maildrift:viewconfig";
/// Capability the plugin requires for sending a test message.
pub const CAP_SEND_TEST_MAIL: &str = "local/maildrift:sendtestmail";

/// The capability a plugin function checks (system context), to name it when Moodle refuses.
pub fn capability_for(function: &str) -> &'static str {
    if function == FN_SEND_TEST_MAIL {
        CAP_SEND_TEST_MAIL
    } else {
        CAP_VIEW_CONFIG
    }
}

/// Moodle's error answer. Every web service error comes back as HTTP 200 with this body.
///
/// Only `errorcode` is used to decide what went wrong: the `exception` class names changed
/// between Moodle versions (`moodle_exception` vs `core\exception\moodle_exception`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MoodleException {
    pub exception: String,
    pub errorcode: String,
    #[serde(default)]
    pub message: String,
    /// Present only when the site has debugging on.
    #[serde(default)]
    pub debuginfo: Option<String>,
}

impl MoodleException {
    /// Recognises an error answer: a JSON object carrying both `exception` and `errorcode`.
    /// Anything else (including a successful answer that happens to contain an `errorcode`
    /// field deeper down) is not an error.
    pub fn detect(body: &[u8]) -> Option<MoodleException> {
        Self::from_value(&serde_json::from_slice(body).ok()?)
    }

    /// [`MoodleException::detect`] on an answer already parsed (and cleaned).
    pub fn from_value(value: &serde_json::Value) -> Option<MoodleException> {
        let object = value.as_object()?;
        let text = |key: &str| match object.get(key) {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(other) => Some(other.to_string()),
        };
        Some(MoodleException {
            exception: text("exception")?,
            errorcode: text("errorcode")?,
            message: text("message").unwrap_or_default(),
            debuginfo: text("debuginfo"),
        })
    }
}

/// `core_webservice_get_site_info`, reduced to what maildrift uses.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SiteInfo {
    pub sitename: String,
    pub username: String,
    pub siteurl: String,
    pub release: String,
    pub version: String,
    /// The functions the token's service allows.
    pub functions: Vec<FunctionInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct FunctionInfo {
    pub name: String,
    #[serde(default)]
    pub version: String,
}

impl SiteInfo {
    /// Whether the token's service lists `function`.
    pub fn allows(&self, function: &str) -> bool {
        self.functions.iter().any(|f| f.name == function)
    }

    pub fn function_names(&self) -> impl Iterator<Item = &str> {
        self.functions.iter().map(|f| f.name.as_str())
    }
}

/// A warning in the `warnings` list that most Moodle functions return.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Warning {
    #[serde(default)]
    pub item: Option<String>,
    #[serde(default)]
    pub warningcode: Option<String>,
    #[serde(default)]
    pub message: String,
}

impl Warning {
    /// `code: message`, or the message alone when there is no code.
    pub fn text(&self) -> String {
        match &self.warningcode {
            Some(code) if !code.is_empty() => format!("{code}: {}", self.message),
            _ => self.message.clone(),
        }
    }
}

/// `local_maildrift_get_mail_config`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MailConfig {
    pub release: String,
    pub version: String,
    pub pluginversion: String,
    pub wwwroot: String,
    pub settings: Vec<SettingEntry>,
    pub secrets: Vec<SecretEntry>,
    pub dkim: Vec<DkimEntry>,
    #[serde(default)]
    pub warnings: Vec<Warning>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SettingEntry {
    pub name: String,
    pub value: String,
    pub isset: bool,
    pub forced: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SecretEntry {
    pub name: String,
    pub isset: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DkimEntry {
    pub domain: String,
    pub selector: String,
    pub keyfile: bool,
    pub publickey: String,
}

/// `local_maildrift_get_mail_health`. Times are Unix seconds; 0 means "never".
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MailHealth {
    pub generatedat: i64,
    pub days: u32,
    pub cron: CronHealth,
    /// Every ad-hoc task in the queue.
    pub adhoc: TaskCounts,
    /// The same counts restricted to the tasks that send mail (`mailtasks`).
    pub mail: TaskCounts,
    /// The ad-hoc task classes the plugin counts as sending mail.
    pub mailtasks: Vec<String>,
    pub failedmail: FailedMail,
    pub bounces: Bounces,
    #[serde(default)]
    pub warnings: Vec<Warning>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CronHealth {
    pub lastcronstart: i64,
    pub lastcroninterval: i64,
}

/// Counts of ad-hoc tasks in the queue.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TaskCounts {
    pub pending: u64,
    pub duenow: u64,
    pub oldestdue: i64,
    pub failing: u64,
    pub maxfaildelay: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct FailedMail {
    pub logavailable: bool,
    pub count: u64,
    pub lastfailure: i64,
    pub recent: Vec<MailFailure>,
    pub messagesent: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MailFailure {
    pub time: i64,
    pub recipientdomain: String,
    pub error: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Bounces {
    pub handlebounces: bool,
    pub minbounces: i64,
    /// Kept as text: Moodle stores it as a string ("0.2").
    pub bounceratio: String,
    pub usersoverthreshold: u64,
}

/// `local_maildrift_send_test_mail`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TestMail {
    pub sent: bool,
    /// Moodle's mailer error when `sent` is false.
    pub error: String,
    pub subject: String,
    /// Marker in the subject that lets the message be found in a mailbox.
    pub token: String,
    pub timesent: i64,
    #[serde(default)]
    pub warnings: Vec<Warning>,
}

/// The answer of `local_maildrift_probe_relay`: what each relay in `smtphosts` offered the
/// Moodle server, and the XOAUTH2 issuer's state. Every string in it came from the relay or
/// the site and is untrusted.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RelayProbe {
    pub generatedat: i64,
    /// When the relays were probed; the plugin reuses an answer for a minute.
    pub probedat: i64,
    pub cached: bool,
    pub smtphosts: String,
    pub smtpsecure: String,
    pub smtpauthtype: String,
    pub smtpuserset: bool,
    pub relays: Vec<RelayFacts>,
    pub oauth: OauthState,
    #[serde(default)]
    pub warnings: Vec<Warning>,
}

/// One relay as the probe saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayFacts {
    /// The `smtphosts` entry as written.
    pub entry: String,
    pub host: String,
    pub port: u16,
    /// `none`, `starttls` or `implicit`: how Moodle's mailer talks to it.
    pub mode: String,
    /// Whether an SMTP server answered (a greeting was read).
    pub reachable: bool,
    /// Where the probe stopped: `connect`, `reply`, `greeting`, `ehlo`, `starttls`, `tls`,
    /// `invalidhost`; empty when it did not.
    pub stage: String,
    pub error: String,
    pub address: String,
    pub ehloname: String,
    pub greeting: String,
    pub starttlsoffered: bool,
    /// EHLO lines after the first, from the last EHLO (after TLS when TLS is used).
    pub extensions: Vec<String>,
    pub authmechanisms: Vec<String>,
    /// When the configured mode failed at once: `smtp` or `tls` if the other mode worked.
    pub portspeaks: String,
    pub tls: RelayTls,
    pub cert: RelayCert,
    pub durationms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayTls {
    /// `TLSv1.3`, `TLSv1.2`, ...; empty without TLS.
    pub protocol: String,
    pub cipher: String,
    pub bits: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayCert {
    pub present: bool,
    pub subject: String,
    pub issuer: String,
    /// `DNS:name` or `IP:address`.
    pub sans: Vec<String>,
    /// Unix seconds.
    pub validfrom: i64,
    pub validto: i64,
    /// Whether the certificate names the host Moodle connects to.
    pub namematches: bool,
    /// Whether a handshake with the server's CA store and host name check succeeded.
    pub verified: bool,
    pub verifyerror: String,
}

/// The OAuth 2 issuer named by `smtpoauthservice`, when `smtpauthtype` is XOAUTH2. Never a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OauthState {
    /// False when `smtpauthtype` is not XOAUTH2 (the rest is then empty).
    pub checked: bool,
    pub serviceid: i64,
    pub exists: bool,
    pub name: String,
    pub enabled: bool,
    pub configured: bool,
    pub connected: bool,
    /// Last change of the system account (the refresh token is rewritten on renewal).
    pub accountmodified: i64,
    pub tokenexpires: i64,
    pub tokenmodified: i64,
    pub refreshlastrun: i64,
    /// Whether Moodle's system token refresh task is failing.
    pub refreshfailing: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAIL_CONFIG: &str = r#"{"release":"4.5.8+ (Build: 20260126)","version":"2024100708.05","pluginversion":"2026112900","wwwroot":"https://moodle.example.edu","settings":[{"name":"smtphosts","value":"smtp-relay.example.edu:587","isset":true,"forced":false}],"secrets":[{"name":"smtppass","isset":true},{"name":"messageinbound_hostpass","isset":false}],"dkim":[{"domain":"moodle.example.edu","selector":"md2026","keyfile":true,"publickey":"MIIBIjANBg"}],"warnings":[]}"#;

    const HEALTH: &str = r#"{"generatedat":1795940000,"days":7,"cron":{"lastcronstart":1795939900,"lastcroninterval":60},"adhoc":{"pending":12,"duenow":3,"oldestdue":1795939000,"failing":1,"maxfaildelay":240},"mail":{"pending":4,"duenow":2,"oldestdue":1795939500,"failing":0,"maxfaildelay":0},"mailtasks":["\\mod_forum\\task\\send_user_notifications"],"failedmail":{"logavailable":true,"count":2,"lastfailure":1795930000,"recent":[{"time":1795930000,"recipientdomain":"example.org","error":"SMTP Error: Could not connect to SMTP host."}],"messagesent":840},"bounces":{"handlebounces":false,"minbounces":10,"bounceratio":"0.2","usersoverthreshold":0},"warnings":[]}"#;

    #[test]
    fn mail_config_parses_the_documented_answer() {
        let c: MailConfig = serde_json::from_str(MAIL_CONFIG).unwrap();
        assert_eq!(c.settings[0].value, "smtp-relay.example.edu:587");
        assert!(c.secrets[0].isset && !c.secrets[1].isset);
        assert_eq!(c.dkim[0].selector, "md2026");
    }

    #[test]
    fn unknown_fields_from_newer_plugins_are_ignored() {
        let newer = MAIL_CONFIG.replacen('{', r#"{"futurefield":[1,2],"#, 1);
        assert!(serde_json::from_str::<MailConfig>(&newer).is_ok());
    }

    #[test]
    fn a_missing_documented_field_is_an_error() {
        let older = MAIL_CONFIG.replace(r#""pluginversion":"2026112900","#, "");
        let err = serde_json::from_str::<MailConfig>(&older).unwrap_err();
        assert!(err.to_string().contains("pluginversion"), "{err}");
    }

    #[test]
    fn health_parses_nested_task_counts() {
        let h: MailHealth = serde_json::from_str(HEALTH).unwrap();
        assert_eq!(h.adhoc.pending, 12);
        assert_eq!(h.mail.duenow, 2);
        assert_eq!(h.mailtasks, ["\\mod_forum\\task\\send_user_notifications"]);
        assert_eq!(h.failedmail.recent[0].recipientdomain, "example.org");
        assert_eq!(h.bounces.bounceratio, "0.2");
    }

    #[test]
    fn test_mail_answer_parses() {
        let t: TestMail = serde_json::from_str(r#"{"sent":true,"error":"","subject":"maildrift test md-0a1b2c3d4e5f from Example Moodle","token":"md-0a1b2c3d4e5f","timesent":1795940000,"warnings":[]}"#).unwrap();
        assert!(t.sent);
        assert_eq!(t.token, "md-0a1b2c3d4e5f");
    }

    #[test]
    fn error_answers_are_detected_whatever_the_exception_class() {
        for body in [
            r#"{"exception":"core\\exception\\moodle_exception","errorcode":"invalidtoken","message":"Invalid token - token not found"}"#,
            r#"{"exception":"moodle_exception","errorcode":"invalidtoken","message":"Invalid token - token not found"}"#,
        ] {
            let e = MoodleException::detect(body.as_bytes()).unwrap();
            assert_eq!(e.errorcode, "invalidtoken");
        }
    }

    #[test]
    fn debuginfo_is_kept_when_the_site_has_debugging_on() {
        let body = r#"{"exception":"core\\exception\\invalid_parameter_exception","errorcode":"invalidparameter","message":"Invalid parameter value detected (Missing required key in single structure: values)","debuginfo":"Missing required key in single structure: values"}"#;
        let e = MoodleException::detect(body.as_bytes()).unwrap();
        assert_eq!(
            e.debuginfo.as_deref(),
            Some("Missing required key in single structure: values")
        );
    }

    #[test]
    fn successful_answers_and_non_objects_are_not_errors() {
        assert!(MoodleException::detect(MAIL_CONFIG.as_bytes()).is_none());
        assert!(MoodleException::detect(b"[1,2]").is_none());
        assert!(MoodleException::detect(b"{\"errorcode\":\"x\"}").is_none());
        assert!(MoodleException::detect(b"<html>").is_none());
    }
}
