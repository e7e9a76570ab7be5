//! Every way talking to a Moodle site can fail, each with a message that names the environment
//! and says what to do about it.
//!
//! No variant ever holds the token: errors are built from the environment, the URL (which never
//! carries the token) and server-supplied text that has had the token scrubbed out.

use std::path::PathBuf;
use std::time::Duration;

use crate::moodle::protocol::FN_MAIL_CONFIG;

/// A failure talking to one Moodle site.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MoodleError {
    // --- Refused before any connection -------------------------------------------------------
    #[error(
        "{env}: refusing plain http to {url}: the token would cross the network unencrypted. \
         Use an https:// url, or set `allow_http = true` for this environment if the network \
         path is trusted"
    )]
    InsecureUrl { env: String, url: String },

    #[error("{env}: cannot use ca_file {}: {detail}", path.display())]
    CaFile {
        env: String,
        path: PathBuf,
        detail: String,
    },

    #[error("{env}: cannot set up the HTTP client: {detail}")]
    ClientSetup { env: String, detail: String },

    // --- Moodle's own error answers (HTTP 200 + errorcode) ----------------------------------
    #[error(
        "{env}: Moodle rejected the token (invalidtoken): it is wrong, has expired or was \
         deleted. Create a new token for the `maildrift` service (Site administration > Server > \
         Web services > Manage tokens) and store it with `maildrift login {env}`"
    )]
    InvalidToken { env: String },

    #[error(
        "{env}: Moodle refused access to {function} (accessexception): the function is not in \
         the token's service, the token's user is not authorised on the service, the service or \
         token is IP- or time-restricted, or the user lacks a required capability. Authorise the \
         user on the `maildrift` service (Site administration > Server > Web services > External \
         services > maildrift > Authorised users), check the token's IP restriction and expiry, \
         and give the user the capabilities local_maildrift requires"
    )]
    AccessDenied { env: String, function: String },

    #[error(
        "{env}: the site does not know {function} (invalidrecord): the local_maildrift plugin is \
         not installed or not upgraded. Install it into local/maildrift and run \
         `php admin/cli/upgrade.php` on the server"
    )]
    PluginMissing { env: String, function: String },

    #[error(
        "{env}: the token's service does not offer {FN_MAIL_CONFIG}: the token was not created \
         for the `maildrift` service. Create a token for the maildrift service (Site \
         administration > Server > Web services > Manage tokens) and store it with \
         `maildrift login {env}`"
    )]
    FunctionNotInService { env: String },

    #[error(
        "{env}: Moodle rejected the parameters of {function} (invalidparameter): {message}. The \
         local_maildrift plugin on the site may not match this maildrift version; upgrade \
         whichever is older"
    )]
    InvalidParameter {
        env: String,
        function: String,
        message: String,
    },

    #[error(
        "{env}: the token's user may not call {function} (nopermissions): it lacks the \
         capability {capability} in the system context. On the server, run `php \
         local/maildrift/cli/setup.php --username=<that user>` (it gives the account the \
         `maildrift` role), or allow {capability} in the account's system role. Moodle said: \
         {message}"
    )]
    MissingCapability {
        env: String,
        function: String,
        capability: &'static str,
        message: String,
    },

    #[error(
        "{env}: Moodle refused to send another test mail so soon (testmailtoosoon): {message}. \
         Wait a little and try again"
    )]
    TestMailTooSoon { env: String, message: String },

    #[error(
        "{env}: the site sends no test mail (allowlistempty): its test mail allowlist is empty. \
         A Moodle administrator must add the permitted addresses or domains under Site \
         administration > Plugins > Local plugins > maildrift outgoing mail audit (setting \
         local_maildrift/testmailallowlist)"
    )]
    TestMailAllowlistEmpty { env: String },

    #[error(
        "{env}: the recipient is not on the site's test mail allowlist (recipientnotallowed; \
         setting local_maildrift/testmailallowlist): {message}"
    )]
    RecipientNotAllowed { env: String, message: String },

    #[error("{env}: {function} failed with Moodle error `{errorcode}`: {message}")]
    Moodle {
        env: String,
        function: String,
        errorcode: String,
        message: String,
    },

    // --- HTTP-level answers that are not web service JSON -----------------------------------
    #[error(
        "{env}: {url} answered HTTP {status} (redirect to {location}); maildrift does not follow \
         redirects because that would re-send the token to another address. This is typically \
         http→https or a url that differs from Moodle's wwwroot: put the address Moodle really \
         lives at into the config's url"
    )]
    Redirect {
        env: String,
        url: String,
        status: u16,
        location: String,
    },

    #[error(
        "{env}: {url} answered 403 Forbidden with an empty page: web services or the REST \
         protocol are disabled on the site. Enable both in Site administration > Server > Web \
         services > Overview"
    )]
    WebServicesDisabled { env: String, url: String },

    #[error(
        "{env}: the site is in maintenance mode (HTTP 503{}); run again once the maintenance is \
         over",
        retry_after.as_ref().map(|s| format!(", Retry-After: {s}")).unwrap_or_default()
    )]
    Maintenance {
        env: String,
        url: String,
        retry_after: Option<String>,
    },

    #[error(
        "{env}: {url} does not exist (HTTP 404): Moodle is not at the configured url. Set url to \
         the site's wwwroot ($CFG->wwwroot, the address of its front page)"
    )]
    NotFound { env: String, url: String },

    #[error(
        "{env}: {url} answered with an HTML page instead of web service JSON: the configured url \
         probably is not Moodle's root (it points at a page inside the site or at another web \
         application). Check the url in the config: it must be $CFG->wwwroot"
    )]
    HtmlInsteadOfJson { env: String, url: String },

    #[error(
        "{env}: {url} answered HTTP {status}: the web server or PHP failed; see the site's web \
         server and PHP error logs"
    )]
    ServerError {
        env: String,
        url: String,
        status: u16,
    },

    #[error("{env}: {url} answered unexpected HTTP {status}; the answer starts with: {excerpt}")]
    UnexpectedStatus {
        env: String,
        url: String,
        status: u16,
        excerpt: String,
    },

    #[error(
        "{env}: {url} answered with Content-Type `{content_type}` instead of application/json; \
         a proxy may be rewriting the answer, or the server ignores moodlewsrestformat=json. It \
         starts with: {excerpt}"
    )]
    WrongContentType {
        env: String,
        url: String,
        content_type: String,
        excerpt: String,
    },

    #[error(
        "{env}: the answer to {function} from {url} is not valid JSON ({detail}); it starts \
         with: {excerpt}. PHP warnings printed by the site (debugdisplay on) cause this"
    )]
    InvalidJson {
        env: String,
        url: String,
        function: String,
        detail: String,
        excerpt: String,
    },

    #[error(
        "{env}: the answer to {function} from {url} ended early (truncated JSON after {received} \
         bytes); the connection was cut or PHP stopped mid-answer (see the PHP error log)"
    )]
    TruncatedJson {
        env: String,
        url: String,
        function: String,
        received: usize,
    },

    #[error(
        "{env}: the answer to {function} lacks expected fields ({detail}); the local_maildrift \
         plugin on the site may not match this maildrift version"
    )]
    UnexpectedAnswer {
        env: String,
        function: String,
        detail: String,
    },

    #[error(
        "{env}: the answer from {url} is larger than {limit} bytes and was abandoned; this is \
         not a web service answer maildrift expects"
    )]
    BodyTooLarge {
        env: String,
        url: String,
        limit: usize,
    },

    // --- Network ------------------------------------------------------------------------------
    #[error(
        "{env}: cannot resolve host name {host}: check the url in the config and this \
         machine's DNS"
    )]
    DnsFailure { env: String, host: String },

    #[error(
        "{env}: connection to {url} refused: nothing listens on that host and port; check the \
         url and that the web server runs"
    )]
    ConnectionRefused { env: String, url: String },

    #[error("{env}: cannot connect to {url}: {detail}")]
    Connect {
        env: String,
        url: String,
        detail: String,
    },

    #[error(
        "{env}: {url} closed the connection before answering completely; a proxy or the web \
         server dropped the request ({detail})"
    )]
    ConnectionClosed {
        env: String,
        url: String,
        detail: String,
    },

    #[error(
        "{env}: no connection to {url} within {} s (connect_timeout): the host is down, a \
         firewall drops the traffic, or the network is slow; raise connect_timeout if needed",
        after.as_secs_f64()
    )]
    ConnectTimeout {
        env: String,
        url: String,
        after: Duration,
    },

    #[error(
        "{env}: {url} did not answer completely within {} s (timeout): the site is overloaded \
         or stuck; raise timeout if it is just slow",
        after.as_secs_f64()
    )]
    Timeout {
        env: String,
        url: String,
        after: Duration,
    },

    // --- TLS ----------------------------------------------------------------------------------
    #[error(
        "{env}: the TLS certificate of {host} is issued by an unknown certificate authority; if \
         the site uses an internal CA, set ca_file in the config to that CA's PEM bundle"
    )]
    TlsUnknownCa { env: String, host: String },

    #[error(
        "{env}: the TLS certificate of {host} has expired or is not valid yet: renew the \
         certificate on the server (or check this machine's clock)"
    )]
    TlsExpired { env: String, host: String },

    #[error(
        "{env}: the TLS certificate presented by {host} is not valid for that name{}: use the \
         name the certificate is issued for in url, or fix the server's certificate",
        if presented.is_empty() { String::new() } else { format!(" (it names {})", presented.join(", ")) }
    )]
    TlsWrongHost {
        env: String,
        host: String,
        presented: Vec<String>,
    },

    #[error("{env}: TLS with {host} failed: {detail}")]
    Tls {
        env: String,
        host: String,
        detail: String,
    },

    #[error("{env}: request to {url} failed: {detail}")]
    Request {
        env: String,
        url: String,
        detail: String,
    },
}

impl MoodleError {
    /// Failures that may go away on their own within seconds, and are worth a retry:
    /// connect errors, timeouts, 502/503/504 and a connection dropped mid-answer.
    pub fn is_transient(&self) -> bool {
        match self {
            MoodleError::ConnectionRefused { .. }
            | MoodleError::Connect { .. }
            | MoodleError::ConnectionClosed { .. }
            | MoodleError::ConnectTimeout { .. }
            | MoodleError::Timeout { .. }
            | MoodleError::Maintenance { .. } => true,
            MoodleError::ServerError { status, .. } => matches!(status, 502..=504),
            _ => false,
        }
    }

    /// True when the request certainly never reached Moodle, so even a non-idempotent call
    /// (sending a test mail) may be repeated without doing its work twice.
    pub fn request_not_delivered(&self) -> bool {
        matches!(
            self,
            MoodleError::ConnectionRefused { .. }
                | MoodleError::Connect { .. }
                | MoodleError::ConnectTimeout { .. }
                | MoodleError::Maintenance { .. }
        )
    }

    /// The environment the failure belongs to.
    pub fn env(&self) -> &str {
        match self {
            MoodleError::InsecureUrl { env, .. }
            | MoodleError::CaFile { env, .. }
            | MoodleError::ClientSetup { env, .. }
            | MoodleError::InvalidToken { env }
            | MoodleError::AccessDenied { env, .. }
            | MoodleError::PluginMissing { env, .. }
            | MoodleError::FunctionNotInService { env }
            | MoodleError::InvalidParameter { env, .. }
            | MoodleError::MissingCapability { env, .. }
            | MoodleError::TestMailTooSoon { env, .. }
            | MoodleError::TestMailAllowlistEmpty { env }
            | MoodleError::RecipientNotAllowed { env, .. }
            | MoodleError::Moodle { env, .. }
            | MoodleError::Redirect { env, .. }
            | MoodleError::WebServicesDisabled { env, .. }
            | MoodleError::Maintenance { env, .. }
            | MoodleError::NotFound { env, .. }
            | MoodleError::HtmlInsteadOfJson { env, .. }
            | MoodleError::ServerError { env, .. }
            | MoodleError::UnexpectedStatus { env, .. }
            | MoodleError::WrongContentType { env, .. }
            | MoodleError::InvalidJson { env, .. }
            | MoodleError::TruncatedJson { env, .. }
            | MoodleError::UnexpectedAnswer { env, .. }
            | MoodleError::BodyTooLarge { env, .. }
            | MoodleError::DnsFailure { env, .. }
            | MoodleError::ConnectionRefused { env, .. }
            | MoodleError::Connect { env, .. }
            | MoodleError::ConnectionClosed { env, .. }
            | MoodleError::ConnectTimeout { env, .. }
            | MoodleError::Timeout { env, .. }
            | MoodleError::TlsUnknownCa { env, .. }
            | MoodleError::TlsExpired { env, .. }
            | MoodleError::TlsWrongHost { env, .. }
            | MoodleError::Tls { env, .. }
            | MoodleError::Request { env, .. } => env,
        }
    }
}

/// A short, printable excerpt of a server's answer for error messages: at most `max` chars,
/// control characters replaced, so a binary or huge answer can't garble the terminal.
pub(crate) fn excerpt(body: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(max * 4)]);
    let mut out: String = text
        .chars()
        .take(max)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let out_trimmed = out.trim_end().len();
    out.truncate(out_trimmed);
    if text.chars().count() > max || body.len() > max * 4 {
        out.push('…');
    }
    if out.is_empty() {
        "(empty)".to_string()
    } else {
        format!("{out:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_is_short_and_free_of_control_characters() {
        let e = excerpt(b"<br />\n<b>Warning</b>: something\x1b[31m long", 20);
        assert!(!e.contains('\n') && !e.contains('\x1b'), "{e}");
        assert!(e.ends_with("…\""), "{e}");
        assert_eq!(excerpt(b"", 20), "(empty)");
    }

    #[test]
    fn only_network_failures_and_gateway_errors_are_transient() {
        let env = "prod".to_string();
        let url = "https://x".to_string();
        assert!(
            MoodleError::ServerError {
                env: env.clone(),
                url: url.clone(),
                status: 502
            }
            .is_transient()
        );
        assert!(
            !MoodleError::ServerError {
                env: env.clone(),
                url,
                status: 500
            }
            .is_transient()
        );
        assert!(!MoodleError::InvalidToken { env: env.clone() }.is_transient());
        assert!(
            !MoodleError::AccessDenied {
                env,
                function: "f".into()
            }
            .is_transient()
        );
    }
}
