//! [`Client`]: the calls maildrift makes to one Moodle site.
//!
//! One file past 700 lines because a third of it is unit tests that feed hand-made answers to
//! the private `interpret` and `moodle_error`, the one place answers become errors.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use url::Url;

use crate::config::Environment;
use crate::moodle::error::{MoodleError, excerpt};
use crate::moodle::protocol::{
    FN_MAIL_CONFIG, FN_MAIL_HEALTH, FN_PROBE_RELAY, FN_SEND_TEST_MAIL, FN_SITE_INFO, MailConfig,
    MailHealth, MoodleException, PLUGIN_PREFIX, RelayProbe, SiteInfo, TestMail, capability_for,
};
use crate::moodle::retry::RetryPolicy;
use crate::moodle::transport::{self, Answer, Target};
use crate::sanitise;
use crate::snapshot::{self, DkimKey, MoodleVersion, Setting, Snapshot, Source, settings};
use crate::token::Token;

/// Characters of a server answer quoted in error messages.
const EXCERPT_CHARS: usize = 120;

/// A web service client for one environment. Cloning is cheap (one `Arc`), and clones share the
/// underlying connection pool, so one client per site can be handed to many tasks.
#[derive(Debug, Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Debug, Clone)]
struct Inner {
    env: String,
    wwwroot: Url,
    endpoint: Url,
    http: reqwest::Client,
    connect_timeout: Duration,
    timeout: Duration,
    retries: u32,
    policy: RetryPolicy,
    warnings: Vec<String>,
}

impl Client {
    /// Checks the URL against the transport rules and prepares the HTTP client. Nothing is
    /// sent yet; a refused URL fails here, before any connection.
    pub fn new(env: &Environment) -> Result<Client, MoodleError> {
        let warning = transport::check_scheme(env)?;
        let http = transport::http_client(env)?;
        Ok(Client {
            inner: Arc::new(Inner {
                env: env.name.clone(),
                wwwroot: env.url.clone(),
                endpoint: transport::endpoint(&env.url),
                http,
                connect_timeout: env.connect_timeout,
                timeout: env.timeout,
                retries: env.retries,
                policy: RetryPolicy::default(),
                warnings: warning.into_iter().collect(),
            }),
        })
    }

    /// Replaces the backoff settings (tests use short delays).
    pub fn with_retry_policy(self, policy: RetryPolicy) -> Client {
        let mut inner = Arc::unwrap_or_clone(self.inner);
        inner.policy = policy;
        Client {
            inner: Arc::new(inner),
        }
    }

    /// Warnings the CLI must print on every run (plain http allowed by `allow_http`).
    pub fn warnings(&self) -> &[String] {
        &self.inner.warnings
    }

    pub fn env_name(&self) -> &str {
        &self.inner.env
    }

    /// The REST endpoint requests go to.
    pub fn endpoint(&self) -> &Url {
        &self.inner.endpoint
    }

    /// `core_webservice_get_site_info`: whose token this is and what it may call.
    pub async fn site_info(&self, token: &Token) -> Result<SiteInfo, MoodleError> {
        self.call(token, FN_SITE_INFO, &[], true).await
    }

    /// Site info, plus the check that the token can call the plugin's main function.
    ///
    /// When the function is not listed, one probe call tells apart "plugin not installed"
    /// (Moodle: invalidrecord) from "token made for another service" (accessexception), which
    /// need different fixes.
    pub async fn check_access(&self, token: &Token) -> Result<SiteInfo, MoodleError> {
        let info = self.site_info(token).await?;
        if info.allows(FN_MAIL_CONFIG) {
            return Ok(info);
        }
        match self.mail_config(token).await {
            // Callable although not listed (e.g. Moodle lists only its own service's
            // functions for some admin tokens): good enough.
            Ok(_) => Ok(info),
            Err(MoodleError::AccessDenied { .. }) => Err(MoodleError::FunctionNotInService {
                env: self.inner.env.clone(),
            }),
            Err(other) => Err(other),
        }
    }

    /// `local_maildrift_get_mail_config`.
    pub async fn mail_config(&self, token: &Token) -> Result<MailConfig, MoodleError> {
        self.call(token, FN_MAIL_CONFIG, &[], true).await
    }

    /// `local_maildrift_get_mail_health` over the last `days` days.
    pub async fn mail_health(&self, token: &Token, days: u32) -> Result<MailHealth, MoodleError> {
        self.call(token, FN_MAIL_HEALTH, &[("days", days.to_string())], true)
            .await
    }

    /// `local_maildrift_probe_relay`: the relays as the Moodle server sees them. Safe to retry:
    /// it only reads, and the plugin answers repeated calls from its cache.
    pub async fn probe_relay(&self, token: &Token) -> Result<RelayProbe, MoodleError> {
        self.call(token, FN_PROBE_RELAY, &[], true).await
    }

    /// `local_maildrift_send_test_mail`. Retried only when the request surely did not reach
    /// Moodle, so one call never sends two messages.
    pub async fn send_test_mail(
        &self,
        token: &Token,
        recipient: &str,
    ) -> Result<TestMail, MoodleError> {
        self.call(
            token,
            FN_SEND_TEST_MAIL,
            &[("recipient", recipient.to_string())],
            false,
        )
        .await
    }

    /// Checks access, reads the mail configuration and turns it into a [`Snapshot`].
    ///
    /// Site info and the configuration are asked for at once, so a site costs one round trip
    /// rather than two (it matters for a fleet). Site info's errors (token, web services off)
    /// win because they are the more basic problem; the access check then reads as before.
    pub async fn pull(&self, token: &Token) -> Result<Snapshot, MoodleError> {
        let (info, config) = tokio::join!(self.site_info(token), self.mail_config(token));
        let info = info?;
        match config {
            Ok(config) => Ok(self.to_snapshot(config, token)),
            Err(MoodleError::AccessDenied { .. }) if !info.allows(FN_MAIL_CONFIG) => {
                Err(MoodleError::FunctionNotInService {
                    env: self.inner.env.clone(),
                })
            }
            Err(other) => Err(other),
        }
    }

    fn to_snapshot(&self, config: MailConfig, token: &Token) -> Snapshot {
        let mut secrets: BTreeMap<String, bool> = config
            .secrets
            .into_iter()
            .map(|s| (s.name, s.isset))
            .collect();
        let mut settings = BTreeMap::new();
        // Secret values a misbehaving plugin sent; they must not resurface in its warnings.
        let mut leaked: Vec<String> = Vec::new();
        for s in config.settings {
            if settings::is_secret_name(&s.name) {
                if !s.value.is_empty() {
                    leaked.push(s.value.clone());
                }
                // The plugin should never send these; if one does, keep only whether it is set.
                tracing::warn!(
                    env = %self.inner.env,
                    setting = %s.name,
                    "plugin sent the value of a secret setting; dropped"
                );
                secrets
                    .entry(s.name)
                    .or_insert(s.isset && !s.value.is_empty());
                continue;
            }
            settings.insert(
                s.name,
                Setting {
                    value: s.value,
                    isset: s.isset,
                    forced: s.forced,
                },
            );
        }
        Snapshot {
            schema: snapshot::SCHEMA.to_string(),
            environment: self.inner.env.clone(),
            url: self.inner.wwwroot.to_string(),
            taken_at: jiff::Timestamp::now(),
            source: Source::Plugin,
            moodle: MoodleVersion {
                release: config.release,
                version: config.version,
            },
            plugin_version: Some(config.pluginversion),
            settings,
            secrets,
            dkim: config
                .dkim
                .into_iter()
                .map(|d| DkimKey {
                    domain: d.domain,
                    selector: d.selector,
                    keyfile: d.keyfile,
                    publickey: d.publickey,
                })
                .collect(),
            // Site text, shown to the user: the token and any leaked secret are scrubbed.
            warnings: config
                .warnings
                .iter()
                .map(|w| {
                    leaked.iter().fold(scrub(&w.text(), token), |text, secret| {
                        text.replace(secret.as_str(), "<redacted>")
                    })
                })
                .collect(),
        }
    }

    /// One web service call with bounded retries of transient failures.
    async fn call<T: DeserializeOwned>(
        &self,
        token: &Token,
        function: &str,
        params: &[(&str, String)],
        idempotent: bool,
    ) -> Result<T, MoodleError> {
        let mut attempt = 0;
        loop {
            let err = match self.call_once(token, function, params).await {
                Ok(value) => return Ok(value),
                Err(err) => err,
            };
            let retryable = if idempotent {
                err.is_transient()
            } else {
                err.request_not_delivered()
            };
            if !retryable || attempt >= self.inner.retries {
                return Err(err);
            }
            attempt += 1;
            let backoff = self.inner.policy.backoff(attempt);
            let delay = match &err {
                MoodleError::Maintenance { retry_after, .. } => {
                    match self
                        .inner
                        .policy
                        .retry_after(retry_after.as_deref(), backoff)
                    {
                        Some(delay) => delay,
                        // Real maintenance: waiting minutes would only stall the run.
                        None => return Err(err),
                    }
                }
                _ => backoff,
            };
            tracing::debug!(env = %self.inner.env, function, attempt, ?delay, error = %err, "retrying");
            tokio::time::sleep(delay).await;
        }
    }

    async fn call_once<T: DeserializeOwned>(
        &self,
        token: &Token,
        function: &str,
        params: &[(&str, String)],
    ) -> Result<T, MoodleError> {
        let inner = &self.inner;
        // The token goes only here, into the POST body.
        let mut form: Vec<(&str, &str)> = vec![
            ("wstoken", token.expose()),
            ("wsfunction", function),
            ("moodlewsrestformat", "json"),
        ];
        form.extend(params.iter().map(|(k, v)| (*k, v.as_str())));
        let target = Target {
            env: &inner.env,
            url: &inner.endpoint,
            connect_timeout: inner.connect_timeout,
        };
        let answer =
            tokio::time::timeout(inner.timeout, transport::post(&inner.http, &target, &form))
                .await
                .map_err(|_| MoodleError::Timeout {
                    env: inner.env.clone(),
                    url: inner.endpoint.to_string(),
                    after: inner.timeout,
                })?
                .map_err(|e| with_timeout(e, inner.timeout))?;
        self.interpret(function, answer, token)
    }

    /// Interprets a raw HTTP answer as the result of `function`, exactly as a live call
    /// would. For fuzzing and tests of the answer handling; sends nothing.
    pub fn decode_answer<T: DeserializeOwned>(
        &self,
        function: &str,
        status: u16,
        content_type: Option<&str>,
        body: &[u8],
        token: &Token,
    ) -> Result<T, MoodleError> {
        let answer = Answer {
            status,
            content_type: content_type.map(String::from),
            location: None,
            retry_after: None,
            body: body.to_vec(),
        };
        self.interpret(function, answer, token)
    }

    /// Decides what an HTTP answer means: web service result, Moodle error, or one of the
    /// ways a web server answers when Moodle's REST server is not what replied.
    fn interpret<T: DeserializeOwned>(
        &self,
        function: &str,
        answer: Answer,
        token: &Token,
    ) -> Result<T, MoodleError> {
        let env = self.inner.env.clone();
        let url = self.inner.endpoint.to_string();
        // Everything quoted from the answer (headers, excerpts, parser messages that repeat
        // parts of it) is server-controlled: no token, no terminal controls.
        let clean = |text: &str| sanitise::clean_string(&scrub(text, token));
        let quote = |body: &[u8]| {
            excerpt(
                clean(&String::from_utf8_lossy(body)).as_bytes(),
                EXCERPT_CHARS,
            )
        };
        let status = answer.status;
        match status {
            300..=399 => {
                return Err(MoodleError::Redirect {
                    env,
                    url,
                    status,
                    location: answer
                        .location
                        .as_deref()
                        .map(clean)
                        .unwrap_or_else(|| "(no Location header)".to_string()),
                });
            }
            403 if answer.body.trim_ascii().is_empty() => {
                return Err(MoodleError::WebServicesDisabled { env, url });
            }
            404 => return Err(MoodleError::NotFound { env, url }),
            503 => {
                return Err(MoodleError::Maintenance {
                    env,
                    url,
                    retry_after: answer.retry_after.as_deref().map(clean),
                });
            }
            500..=599 => return Err(MoodleError::ServerError { env, url, status }),
            200 => {}
            _ => {
                return Err(MoodleError::UnexpectedStatus {
                    env,
                    url,
                    status,
                    excerpt: quote(&answer.body),
                });
            }
        }
        let mime = answer
            .content_type
            .as_deref()
            .and_then(|ct| ct.split(';').next())
            .map(|m| m.trim().to_ascii_lowercase());
        if mime.as_deref() == Some("text/html") || looks_like_html(&answer.body) {
            return Err(MoodleError::HtmlInsteadOfJson { env, url });
        }
        if let Some(mime) = mime.filter(|m| m != "application/json") {
            return Err(MoodleError::WrongContentType {
                env,
                url,
                content_type: clean(&mime),
                excerpt: quote(&answer.body),
            });
        }
        // Decoded in two steps so that every string the site sent is cleaned of terminal
        // controls once, here, before any of it reaches a snapshot, a message or a report.
        let mut value: serde_json::Value =
            serde_json::from_slice(&answer.body).map_err(|e| match e.classify() {
                serde_json::error::Category::Eof => MoodleError::TruncatedJson {
                    env: env.clone(),
                    url: url.clone(),
                    function: function.to_string(),
                    received: answer.body.len(),
                },
                _ => MoodleError::InvalidJson {
                    env: env.clone(),
                    url: url.clone(),
                    function: function.to_string(),
                    detail: clean(&e.to_string()),
                    excerpt: quote(&answer.body),
                },
            })?;
        sanitise::clean_json(&mut value);
        if let Some(exception) = MoodleException::from_value(&value) {
            return Err(self.moodle_error(function, exception, token));
        }
        T::deserialize(value).map_err(|e| MoodleError::UnexpectedAnswer {
            env,
            function: function.to_string(),
            detail: clean(&e.to_string()),
        })
    }

    /// Maps Moodle's error answer by `errorcode` (never by exception class).
    fn moodle_error(&self, function: &str, e: MoodleException, token: &Token) -> MoodleError {
        let env = self.inner.env.clone();
        let function = function.to_string();
        let message = scrub(&e.message, token);
        match e.errorcode.as_str() {
            "invalidtoken" => MoodleError::InvalidToken { env },
            "accessexception" => MoodleError::AccessDenied { env, function },
            "invalidrecord" if function.starts_with(PLUGIN_PREFIX) => {
                MoodleError::PluginMissing { env, function }
            }
            "invalidparameter" => MoodleError::InvalidParameter {
                env,
                function,
                message: e
                    .debuginfo
                    .map(|d| scrub(&d, token))
                    .filter(|d| !d.trim().is_empty())
                    .unwrap_or(message),
            },
            "nopermissions" if function.starts_with(PLUGIN_PREFIX) => {
                MoodleError::MissingCapability {
                    env,
                    capability: capability_for(&function),
                    function,
                    message,
                }
            }
            // Its message is a sentence our own text continues.
            "testmailtoosoon" => MoodleError::TestMailTooSoon {
                env,
                message: message.trim_end().trim_end_matches('.').to_string(),
            },
            "allowlistempty" => MoodleError::TestMailAllowlistEmpty { env },
            "recipientnotallowed" => MoodleError::RecipientNotAllowed { env, message },
            other => MoodleError::Moodle {
                env,
                function,
                errorcode: scrub(other, token),
                message,
            },
        }
    }
}

/// Fills in the configured total timeout when reqwest's own timer fired first.
fn with_timeout(err: MoodleError, timeout: Duration) -> MoodleError {
    match err {
        MoodleError::Timeout { env, url, after } if after.is_zero() => MoodleError::Timeout {
            env,
            url,
            after: timeout,
        },
        other => other,
    }
}

fn looks_like_html(body: &[u8]) -> bool {
    let start = body.trim_ascii_start();
    let head = &start[..start.len().min(15)];
    head.len() >= 5
        && (head.to_ascii_lowercase().starts_with(b"<!doctype html")
            || head.to_ascii_lowercase().starts_with(b"<html"))
}

/// Removes the token from server-supplied text before it can reach a message: a misbehaving
/// server or proxy could echo the request body back.
fn scrub(text: &str, token: &Token) -> String {
    let secret = token.expose();
    if secret.is_empty() {
        text.to_string()
    } else {
        text.replace(secret, "<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> Client {
        let env = Environment::new("prod", Url::parse("http://127.0.0.1:9").unwrap());
        Client::new(&env).unwrap()
    }

    fn json(body: &str) -> Answer {
        Answer {
            status: 200,
            content_type: Some("application/json".into()),
            location: None,
            retry_after: None,
            body: body.as_bytes().to_vec(),
        }
    }

    const TOKEN: &str = "feedfacefeedfacefeedfacefeedface";

    fn interpret(answer: Answer) -> MoodleError {
        client()
            .interpret::<SiteInfo>(FN_SITE_INFO, answer, &Token::new(TOKEN))
            .unwrap_err()
    }

    #[test]
    fn moodle_errors_map_on_errorcode() {
        let e = interpret(json(
            r#"{"exception":"core\\exception\\moodle_exception","errorcode":"invalidtoken","message":"Invalid token - token not found"}"#,
        ));
        assert!(matches!(e, MoodleError::InvalidToken { .. }), "{e:?}");
        let e = interpret(json(
            r#"{"exception":"some_future_exception","errorcode":"accessexception","message":"x"}"#,
        ));
        assert!(matches!(e, MoodleError::AccessDenied { .. }), "{e:?}");
    }

    fn refusal(function: &str, body: &str) -> MoodleError {
        client()
            .interpret::<TestMail>(function, json(body), &Token::new(TOKEN))
            .unwrap_err()
    }

    #[test]
    fn a_missing_plugin_capability_names_the_capability_to_grant() {
        let body = r#"{"exception":"required_capability_exception","errorcode":"nopermissions","message":"Sorry, but you do not currently have permissions to do that (Send a maildrift test message through the site mailer)."}"#;
        let e = refusal(FN_SEND_TEST_MAIL, body);
        assert!(matches!(e, MoodleError::MissingCapability { .. }), "{e:?}");
        let shown = e.to_string();
        assert!(shown.contains("local/maildrift:sendtestmail"), "{shown}");
        assert!(shown.contains("cli/setup.php"), "{shown}");
        assert!(!shown.contains("site:config"), "{shown}");
        let e = refusal(FN_MAIL_HEALTH, body);
        assert!(e.to_string().contains("local/maildrift:viewconfig"), "{e}");
        // Core functions' refusals are not blamed on the plugin's capabilities.
        let e = refusal(FN_SITE_INFO, body);
        assert!(matches!(e, MoodleError::Moodle { .. }), "{e:?}");
    }

    #[test]
    fn allowlist_refusals_say_who_can_fix_them() {
        let e = refusal(
            FN_SEND_TEST_MAIL,
            r#"{"exception":"moodle_exception","errorcode":"allowlistempty","message":"No test message can be sent"}"#,
        );
        assert!(
            matches!(e, MoodleError::TestMailAllowlistEmpty { .. }),
            "{e:?}"
        );
        assert!(e.to_string().contains("testmailallowlist"), "{e}");
        let e = refusal(
            FN_SEND_TEST_MAIL,
            r#"{"exception":"moodle_exception","errorcode":"recipientnotallowed","message":"The recipient is not in the test mail allowlist (domain: example.org)."}"#,
        );
        assert!(
            matches!(e, MoodleError::RecipientNotAllowed { .. }),
            "{e:?}"
        );
        assert!(e.to_string().contains("domain: example.org"), "{e}");
    }

    #[test]
    fn server_text_echoing_the_token_is_scrubbed() {
        let e = interpret(json(&format!(
            r#"{{"exception":"x","errorcode":"weird","message":"you sent {TOKEN}"}}"#
        )));
        let shown = format!("{e} {e:?}");
        assert!(!shown.contains(TOKEN), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }

    #[test]
    fn every_occurrence_of_the_token_is_scrubbed() {
        let e = interpret(json(&format!(
            r#"{{"exception":"x","errorcode":"weird","message":"{TOKEN} then {TOKEN}{TOKEN}"}}"#
        )));
        let shown = format!("{e} {e:?}");
        assert!(!shown.contains(TOKEN), "{shown}");
        assert_eq!(shown.matches("<redacted>").count(), 6, "{shown}");
    }

    fn status(status: u16, body: &str) -> MoodleError {
        interpret(Answer {
            status,
            content_type: Some("text/html".into()),
            location: None,
            retry_after: None,
            body: body.as_bytes().to_vec(),
        })
    }

    #[test]
    fn http_statuses_map_to_the_error_that_explains_them() {
        // Moodle answers an empty 403 when web services are off; a 403 with a page is
        // something else in front of it (a WAF, an access rule) and is quoted instead.
        for body in ["", " \r\n"] {
            let e = status(403, body);
            assert!(
                matches!(e, MoodleError::WebServicesDisabled { .. }),
                "{body:?}: {e:?}"
            );
        }
        let e = status(403, "<h1>Forbidden by policy</h1>");
        assert!(
            matches!(e, MoodleError::UnexpectedStatus { status: 403, .. }),
            "{e:?}"
        );
        assert!(matches!(status(404, ""), MoodleError::NotFound { .. }));
        for code in [500, 502, 599] {
            let e = status(code, "");
            assert!(
                matches!(e, MoodleError::ServerError { status, .. } if status == code),
                "{code}: {e:?}"
            );
        }
        assert!(matches!(status(503, ""), MoodleError::Maintenance { .. }));
    }

    #[test]
    fn invalidrecord_means_a_missing_plugin_only_for_the_plugins_functions() {
        // What Moodle answers for a function it does not know.
        let body = r#"{"exception":"dml_missing_record_exception","errorcode":"invalidrecord","message":"Can't find data record in database table external_functions."}"#;
        let e = refusal(FN_SEND_TEST_MAIL, body);
        assert!(matches!(e, MoodleError::PluginMissing { .. }), "{e:?}");
        let e = refusal(FN_SITE_INFO, body);
        assert!(matches!(e, MoodleError::Moodle { .. }), "{e:?}");
    }

    #[test]
    fn a_redirect_location_echoing_the_token_is_scrubbed() {
        let e = interpret(Answer {
            status: 302,
            content_type: Some("text/html".into()),
            location: Some(format!(
                "https://sso.example.edu/login?wstoken={TOKEN}&again={TOKEN}"
            )),
            retry_after: None,
            body: Vec::new(),
        });
        let MoodleError::Redirect { location, .. } = &e else {
            panic!("{e:?}");
        };
        assert_eq!(
            location,
            "https://sso.example.edu/login?wstoken=<redacted>&again=<redacted>"
        );
        let shown = format!("{e} {e:?}");
        assert!(!shown.contains(TOKEN), "{shown}");
    }

    #[test]
    fn other_server_text_is_scrubbed_too() {
        let maintenance = interpret(Answer {
            status: 503,
            content_type: Some("text/html".into()),
            location: None,
            retry_after: Some(TOKEN.into()),
            body: Vec::new(),
        });
        let odd_status = interpret(Answer {
            status: 418,
            content_type: Some("text/plain".into()),
            location: None,
            retry_after: None,
            body: format!("teapot {TOKEN}").into_bytes(),
        });
        let wrong_type = interpret(Answer {
            status: 200,
            content_type: Some(format!("text/x-{TOKEN}")),
            location: None,
            retry_after: None,
            body: format!("echo {TOKEN}").into_bytes(),
        });
        let invalid_param = interpret(json(&format!(
            r#"{{"exception":"x","errorcode":"invalidparameter","message":"m","debuginfo":"got {TOKEN}"}}"#
        )));
        let bad_json = interpret(json(&format!("{{\"sitename\": {TOKEN}}}")));
        for e in [maintenance, odd_status, wrong_type, invalid_param, bad_json] {
            let shown = format!("{e} {e:?}");
            assert!(!shown.contains(TOKEN), "{shown}");
            assert!(shown.contains("<redacted>"), "{shown}");
        }
    }

    #[test]
    fn an_empty_token_leaves_text_alone() {
        assert_eq!(scrub("abc", &Token::new("")), "abc");
        assert_eq!(scrub("a1b1", &Token::new("1")), "a<redacted>b<redacted>");
    }

    #[test]
    fn truncated_and_invalid_json_are_told_apart() {
        let e = interpret(json(r#"{"sitename":"Real Moodle"#));
        assert!(matches!(e, MoodleError::TruncatedJson { .. }), "{e:?}");
        let e = interpret(json(
            "<br />\n<b>Warning</b>: Undefined variable {\"sitename\":1}",
        ));
        assert!(matches!(e, MoodleError::InvalidJson { .. }), "{e:?}");
        let e = interpret(json(r#"{"sitename":"x"}"#));
        assert!(matches!(e, MoodleError::UnexpectedAnswer { .. }), "{e:?}");
    }

    #[test]
    fn html_is_recognised_even_with_a_json_content_type() {
        let e = interpret(json("\n<!DOCTYPE html>\n<html>"));
        assert!(matches!(e, MoodleError::HtmlInsteadOfJson { .. }), "{e:?}");
    }
}
