//! The fake Moodle is held to what a real one does: the raw HTTP answers captured from Moodle
//! 4.5.8+ (`../shared/moodle-ws-samples/`, beside the clone in CI) byte for byte where the fake
//! claims to copy them, every body in tests/fixtures/moodle/ served and read by maildrift, the
//! plugin's `days` default and clamp, and the mail settings it answers with.
//!
//! The samples are outside the repository: without them the sample test says SKIPPED on the
//! terminal, and fails with CI=true. MAILDRIFT_WS_SAMPLES=DIR points at another copy.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;

use maildrift::config::Environment;
use maildrift::moodle::client::Client;
use maildrift::moodle::error::MoodleError;
use maildrift::snapshot::settings::MAIL_SETTINGS;
use maildrift::token::Token;
use serde_json::Value;
use support::fake_moodle::{
    CORE_FUNCTIONS, FakeMoodle, FakeSite, Fault, PLUGIN_FUNCTIONS, SITE_INFO,
};
use support::skip;

/// The token of the samples.
const TOKEN: &str = "0123456789abcdef0123456789abcdef";

/// POSTs a form over a fresh connection and returns the whole answer as received.
fn raw_post(addr: SocketAddr, path: &str, form: &[(&str, &str)]) -> Vec<u8> {
    let body: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let mut s = TcpStream::connect(addr).expect("connect to the fake");
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: curl/8.14.1\r\nAccept: */*\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).expect("read the answer");
    out
}

/// The JSON body of a raw answer.
fn json_body(answer: &[u8]) -> Value {
    let text = String::from_utf8_lossy(answer);
    let (_, body) = text.split_once("\r\n\r\n").expect("head and body");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// A site like the one the samples were taken from: its service lists the core functions of
/// sample 01, not core_user_get_users.
fn sample_site() -> FakeSite {
    let mut functions: Vec<&str> = CORE_FUNCTIONS
        .iter()
        .copied()
        .filter(|f| *f != "core_user_get_users")
        .collect();
    functions.extend(PLUGIN_FUNCTIONS);
    FakeSite::production("s", TOKEN).functions(&functions)
}

#[test]
fn a_core_function_outside_the_tokens_service_is_an_access_exception_not_a_missing_one() {
    let fake = FakeMoodle::start(vec![sample_site()]);
    let path = "/s/webservice/rest/server.php";
    let call = |f: &str| {
        json_body(&raw_post(
            fake.addr(),
            path,
            &[
                ("wstoken", TOKEN),
                ("wsfunction", f),
                ("moodlewsrestformat", "json"),
            ],
        ))["errorcode"]
            .clone()
    };
    assert_eq!(call("core_user_get_users"), "accessexception");
    assert_eq!(call("core_no_such_function"), "invalidrecord");
    // The plugin's functions exist only when it is installed.
    let fake = FakeMoodle::start(vec![
        FakeSite::production("s", TOKEN)
            .functions(&[SITE_INFO])
            .with_fault(Fault::PluginMissing),
    ]);
    let e = json_body(&raw_post(
        fake.addr(),
        path,
        &[
            ("wstoken", TOKEN),
            ("wsfunction", "local_maildrift_get_mail_config"),
            ("moodlewsrestformat", "json"),
        ],
    ));
    assert_eq!(e["errorcode"], "invalidrecord");
    let fake = FakeMoodle::start(vec![
        FakeSite::production("s", TOKEN).functions(&[SITE_INFO]),
    ]);
    let e = json_body(&raw_post(
        fake.addr(),
        path,
        &[
            ("wstoken", TOKEN),
            ("wsfunction", "local_maildrift_get_mail_config"),
            ("moodlewsrestformat", "json"),
        ],
    ));
    assert_eq!(e["errorcode"], "accessexception");
}

#[test]
fn days_defaults_to_7_and_is_clamped_to_1_through_90_as_the_plugin_does() {
    let fake = FakeMoodle::start(vec![sample_site()]);
    let days = |d: Option<&str>| {
        let mut form = vec![
            ("wstoken", TOKEN),
            ("wsfunction", "local_maildrift_get_mail_health"),
            ("moodlewsrestformat", "json"),
        ];
        if let Some(d) = d {
            form.push(("days", d));
        }
        let body = json_body(&raw_post(
            fake.addr(),
            "/s/webservice/rest/server.php",
            &form,
        ));
        if body["errorcode"].is_string() {
            body["errorcode"].clone()
        } else {
            body["days"].clone()
        }
    };
    assert_eq!(days(None), 7);
    assert_eq!(days(Some("1")), 1);
    assert_eq!(days(Some("0")), 1);
    assert_eq!(days(Some("-3")), 1);
    assert_eq!(days(Some("90")), 90);
    assert_eq!(days(Some("91")), 90);
    assert_eq!(days(Some("30")), 30);
    assert_eq!(days(Some("week")), "invalidparameter");
}

#[test]
fn the_fake_answers_with_every_mail_setting_maildrift_knows_in_the_plugins_order() {
    let site = FakeSite::production("p", TOKEN);
    let names: Vec<&str> = site.mail_config["settings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    let known: Vec<&str> = MAIL_SETTINGS.iter().map(|s| s.name).collect();
    assert_eq!(names, known);
}

fn fixtures() -> Vec<(String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/moodle");
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("fixture folder")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

/// The function whose answer a fixture is, by its file name.
fn function_of(file: &str) -> &'static str {
    let prefix = file.split('.').next().unwrap();
    match prefix {
        "site_info_maildrift" => SITE_INFO,
        "get_mail_config" => "local_maildrift_get_mail_config",
        "get_mail_health" => "local_maildrift_get_mail_health",
        "send_test_mail" => "local_maildrift_send_test_mail",
        other => panic!("fixture {file}: no function known for `{other}`; add it here"),
    }
}

#[tokio::test]
async fn every_captured_fixture_is_served_verbatim_and_read_by_maildrift() {
    let all = fixtures();
    assert!(all.len() >= 8, "{all:?}");
    for (file, body) in all {
        let function = function_of(&file);
        let fake = FakeMoodle::start(vec![sample_site().raw_answer(function, &body)]);
        let form = [
            ("wstoken", TOKEN),
            ("wsfunction", function),
            ("moodlewsrestformat", "json"),
            ("recipient", "postmaster@example.edu"),
        ];
        let addr = fake.addr();
        let answer = tokio::task::spawn_blocking(move || {
            raw_post(addr, "/s/webservice/rest/server.php", &form)
        })
        .await
        .unwrap();
        let text = String::from_utf8(answer).unwrap();
        let (_, served) = text.split_once("\r\n\r\n").unwrap();
        // Moodle ends every JSON answer with a newline; the fixtures were stored without it.
        assert_eq!(served, format!("{body}\n"), "{file}");

        let env = Environment::new("s", url::Url::parse(&fake.url("s")).unwrap());
        let client = Client::new(&env).unwrap();
        let token = Token::new(TOKEN);
        let read = match function {
            SITE_INFO => client.site_info(&token).await.map(|_| ()),
            "local_maildrift_get_mail_config" => client.mail_config(&token).await.map(|_| ()),
            "local_maildrift_get_mail_health" => client.mail_health(&token, 7).await.map(|_| ()),
            _ => client
                .send_test_mail(&token, "postmaster@example.edu")
                .await
                .map(|_| ()),
        };
        match (file.as_str(), read) {
            ("send_test_mail.toosoon.json", Err(MoodleError::TestMailTooSoon { message, .. })) => {
                assert!(message.contains("Try again in"), "{message}")
            }
            ("send_test_mail.toosoon.json", other) => panic!("{file}: {other:?}"),
            (_, Ok(())) => {}
            (_, Err(e)) => panic!("{file}: maildrift could not read the captured answer: {e}"),
        }
    }
}

#[test]
fn a_second_test_mail_within_a_minute_answers_as_the_plugin_did() {
    let fake = FakeMoodle::start(vec![sample_site()]);
    let send = || {
        json_body(&raw_post(
            fake.addr(),
            "/s/webservice/rest/server.php",
            &[
                ("wstoken", TOKEN),
                ("wsfunction", "local_maildrift_send_test_mail"),
                ("moodlewsrestformat", "json"),
                ("recipient", "postmaster@example.edu"),
            ],
        ))
    };
    assert_eq!(send()["sent"], true);
    let again = send();
    let captured: Value = serde_json::from_str(
        &fixtures()
            .into_iter()
            .find(|(f, _)| f == "send_test_mail.toosoon.json")
            .unwrap()
            .1,
    )
    .unwrap();
    assert_eq!(again["exception"], captured["exception"]);
    assert_eq!(again["errorcode"], captured["errorcode"]);
    let shape = |v: &Value| {
        v["message"]
            .as_str()
            .unwrap()
            .split(" Try again in ")
            .next()
            .unwrap()
            .to_string()
    };
    assert_eq!(shape(&again), shape(&captured));
}

// ---- byte for byte against the raw samples ----

fn samples_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("MAILDRIFT_WS_SAMPLES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/moodle-ws-samples")
        });
    dir.is_dir().then_some(dir)
}

/// The form fields of a sample's `### CURL DATA ARGS` line.
fn sample_form(text: &str) -> Vec<(String, String)> {
    let args = text
        .lines()
        .find_map(|l| l.strip_prefix("### CURL DATA ARGS: "))
        .expect("CURL DATA ARGS line");
    args.split(" --")
        .filter_map(|a| a.split_once(' ').map(|(_, kv)| kv))
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The response of a sample: everything after `### RESPONSE (curl -i):`.
fn sample_response(text: &str) -> &str {
    let marker = "### RESPONSE (curl -i):\n";
    &text[text.find(marker).expect("RESPONSE line") + marker.len()..]
}

/// Lines that differ between any two answers (the clock) or name the server's own address.
fn normalise(answer: &str, authority: &str) -> String {
    answer
        .split("\r\n")
        .map(|l| {
            if l.starts_with("Date: ") {
                "Date: <date>".to_string()
            } else if l.starts_with("Last-Modified: ") {
                "Last-Modified: <date>".to_string()
            } else {
                l.replace(authority, "127.0.0.1:8085")
            }
        })
        .collect::<Vec<_>>()
        .join("\r\n")
}

#[test]
fn the_fakes_answers_equal_the_captured_samples_byte_for_byte() {
    let Some(dir) = samples_dir() else {
        skip::required(
            "the_fakes_answers_equal_the_captured_samples_byte_for_byte",
            "the Moodle samples are not at ../shared/moodle-ws-samples (or MAILDRIFT_WS_SAMPLES)",
        );
        return;
    };
    // (sample, the fake site's fault, whether the whole answer is copied or only its head)
    let cases: [(&str, Option<Fault>, bool); 8] = [
        ("05_invalid_token.txt", None, true),
        ("06_function_not_in_service.txt", None, true),
        ("07_nonexistent_function.txt", None, true),
        ("08_missing_token.txt", None, true),
        (
            "40_webservices_disabled.txt",
            Some(Fault::WebServicesDisabled),
            true,
        ),
        (
            "41_rest_protocol_disabled.txt",
            Some(Fault::WebServicesDisabled),
            true,
        ),
        ("44_wrong_path.txt", None, true),
        // The maintenance page is kept shortened: its head must match.
        (
            "42_cli_maintenance_mode.txt",
            Some(Fault::Maintenance),
            false,
        ),
    ];
    let mut wrong = Vec::new();
    for (name, fault, whole) in cases {
        let text = std::fs::read_to_string(dir.join(name)).expect("sample");
        let form = sample_form(&text);
        let site = match &fault {
            Some(f) => sample_site().with_fault(f.clone()),
            None => sample_site(),
        };
        let fake = FakeMoodle::start(vec![site]);
        let path = if name.starts_with("44_") {
            "/webservice/rest/nothere.php"
        } else {
            "/s/webservice/rest/server.php"
        };
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let got = String::from_utf8_lossy(&raw_post(fake.addr(), path, &pairs)).into_owned();
        let got = normalise(&got, &fake.addr().to_string());
        let want = normalise(sample_response(&text), "127.0.0.1:8085");
        let (got, want) = if whole {
            (got, want)
        } else {
            let head = |s: &str| s.split("\r\n\r\n").next().unwrap_or_default().to_string();
            (head(&got), head(&want))
        };
        if got != want {
            wrong.push(format!("{name}:\n--- sample\n{want:?}\n--- fake\n{got:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[tokio::test]
async fn chunked_answers_are_read_and_a_chunked_body_past_the_cap_is_refused() {
    let fake = FakeMoodle::start(vec![
        FakeSite::production("ok", TOKEN).with_fault(Fault::Chunked),
        FakeSite::production("huge", TOKEN).with_fault(Fault::HugeChunked),
    ]);
    let token = Token::new(TOKEN);
    let client = |site: &str| {
        Client::new(&Environment::new(
            site,
            url::Url::parse(&fake.url(site)).unwrap(),
        ))
        .unwrap()
    };
    let config = client("ok")
        .mail_config(&token)
        .await
        .expect("chunked answer read");
    assert!(config.settings.iter().any(|s| s.name == "smtphosts"));
    let err = client("huge").mail_config(&token).await.unwrap_err();
    assert!(matches!(err, MoodleError::BodyTooLarge { .. }), "{err:?}");
    // The chunked framing really was used.
    let addr = fake.addr();
    let raw = tokio::task::spawn_blocking(move || {
        raw_post(
            addr,
            "/ok/webservice/rest/server.php",
            &[
                ("wstoken", TOKEN),
                ("wsfunction", "local_maildrift_get_mail_config"),
                ("moodlewsrestformat", "json"),
            ],
        )
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&raw);
    assert!(text.contains("Transfer-Encoding: chunked\r\n"), "{text}");
    assert!(text.ends_with("\r\n0\r\n\r\n"), "{text}");
}
