//! Properties every rendered output must have, whatever the report holds: no colour codes
//! without colour, tables within the terminal width, well-formed JUnit, JSON that matches the
//! published schemas.

mod render_fixture;

use std::collections::BTreeMap;

use maildrift::findings::{Finding, Kind, Severity};
use maildrift::report::Report;
use maildrift::report::render::{self, Format, Style};
use maildrift::snapshot::{DkimKey, MoodleVersion, SCHEMA, Setting, Snapshot, Source};
use render_fixture as fx;
use serde_json::Value;
use unicode_width::UnicodeWidthStr;

const FORMATS: [Format; 4] = [Format::Table, Format::Json, Format::Markdown, Format::Junit];

/// The fixture with values a hostile or broken Moodle could store: escape sequences, control
/// characters, markup and quotes.
fn hostile_report() -> Report {
    const ODD: Kind = Kind {
        code: "MD199",
        name: "odd-value",
        severity: Severity::Error,
        category: "baseline",
        remedy: "Remove the <script> & \"quotes\" from `the` value.",
    };
    let mut r = fx::report();
    r.findings.push(
        Finding::new(
            &ODD,
            "Value has \x1b[31mcolour\x1b[0m and a bell\x07 | pipe ]]>",
        )
        .env("staging")
        .subject("emailsubjectprefix")
        .expected("[Moodle]")
        .actual("\x1b]0;pwned\x07[Moodle]\r\n\u{0}\u{FFFE}\u{85}'\"<&>"),
    );
    r.summary = maildrift::report::Summary::of(&r.findings, &r.environments, r.fail_on);
    r
}

fn reports() -> Vec<(&'static str, Report)> {
    vec![
        ("report", fx::report()),
        ("failed", fx::failed_report()),
        ("clean", fx::clean_report()),
        ("hostile", hostile_report()),
        ("passes", report_with_passes()),
        ("compared", fx::compared_report()),
    ]
}

#[test]
fn without_colour_no_output_contains_an_escape_byte() {
    for width in [None, Some(80)] {
        let style = Style {
            color: false,
            width,
            all: false,
        };
        for (name, r) in reports() {
            for f in FORMATS {
                let out = render::report(&r, f, &style);
                assert!(!out.contains('\x1b'), "{name} as {f} contains ESC");
            }
        }
        for f in FORMATS {
            for d in [fx::snapshot_diff(), fx::empty_diff()] {
                assert!(!render::diff(&d, f, &style).contains('\x1b'), "diff as {f}");
            }
        }
    }
}

#[test]
fn with_colour_severities_and_diff_lines_are_coloured() {
    let style = Style {
        color: true,
        width: Some(120),
        all: false,
    };
    let out = render::report(&fx::report(), Format::Table, &style);
    assert!(out.contains("\x1b[1;31merror\x1b[0m"));
    assert!(out.contains("\x1b[1;33mwarning\x1b[0m"));
    // The remedy under each message, and the count of what is not shown, are dimmed.
    assert!(out.contains("\x1b[2m→ Have the owner review the standard"));
    let passes = render::report(&report_with_passes(), Format::Table, &style);
    assert!(passes.contains("\x1b[2m+ 2 passing checks and notes (info) not shown"));
    let diff = render::diff(&fx::snapshot_diff(), Format::Table, &style);
    assert!(
        diff.contains("\x1b[31m-X-Env: staging\x1b[0m")
            || diff.contains("\x1b[1;31m-X-Env: staging\x1b[0m")
    );
}

#[test]
fn machine_formats_ignore_colour() {
    let on = Style {
        color: true,
        width: Some(80),
        all: false,
    };
    for f in [Format::Json, Format::Markdown, Format::Junit] {
        assert!(!render::report(&hostile_report(), f, &on).contains('\x1b'));
        assert!(!render::diff(&fx::snapshot_diff(), f, &on).contains('\x1b'));
    }
}

fn widest_line(s: &str) -> usize {
    s.lines().map(UnicodeWidthStr::width).max().unwrap_or(0)
}

#[test]
fn table_output_fits_the_given_width() {
    for width in [60u16, 80, 100] {
        let mut style = Style {
            color: false,
            width: Some(width),
            all: false,
        };
        for all in [false, true] {
            style.all = all;
            for (name, r) in reports() {
                let out = render::report(&r, Format::Table, &style);
                assert!(
                    widest_line(&out) <= usize::from(width),
                    "{name} at {width} (all: {all}):\n{out}"
                );
                assert!(
                    out.lines().all(|l| l == l.trim_end()),
                    "{name}: trailing spaces"
                );
            }
        }
        let out = render::diff(&fx::snapshot_diff(), Format::Table, &style);
        // Unified diff lines are left whole so they stay copyable; the fixture's are short.
        assert!(
            widest_line(&out) <= usize::from(width),
            "diff at {width}:\n{out}"
        );
    }
}

#[test]
fn coloured_table_fits_the_width_once_codes_are_removed() {
    for r in [fx::report(), report_with_passes()] {
        let out = render::report(
            &r,
            Format::Table,
            &Style {
                color: true,
                width: Some(80),
                all: false,
            },
        );
        let plain = render::report(
            &r,
            Format::Table,
            &Style {
                color: false,
                width: Some(80),
                all: false,
            },
        );
        assert_eq!(strip_ansi(&out), plain);
    }
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[derive(Default, Debug, PartialEq)]
struct JunitCounts {
    suites: usize,
    tests: usize,
    failures: usize,
    errors: usize,
    skipped: usize,
    declared: BTreeMap<String, usize>,
}

/// Parses JUnit XML, failing on anything malformed, and counts what it holds.
fn parse_junit(xml: &str) -> JunitCounts {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut counts = JunitCounts::default();
    let mut depth = 0usize;
    loop {
        let event = reader
            .read_event()
            .unwrap_or_else(|e| panic!("malformed XML: {e}\n{xml}"));
        let (start, empty) = match &event {
            Event::Start(e) => (Some(e.clone()), false),
            Event::Empty(e) => (Some(e.clone()), true),
            Event::End(_) => {
                depth -= 1;
                (None, false)
            }
            Event::Text(t) => {
                // Unescaping checks every entity and character reference.
                t.decode().expect("text decodes");
                (None, false)
            }
            Event::Eof => break,
            _ => (None, false),
        };
        if let Some(e) = start {
            let name = String::from_utf8_lossy(e.name().as_ref()).to_string();
            for a in e.attributes() {
                let a = a.expect("well-formed attribute");
                let value = a
                    .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                    .expect("attribute unescapes");
                if name == "testsuites"
                    && let Ok(n) = value.parse::<usize>()
                {
                    counts
                        .declared
                        .insert(String::from_utf8_lossy(a.key.as_ref()).to_string(), n);
                }
            }
            match name.as_str() {
                "testsuite" => counts.suites += 1,
                "testcase" => counts.tests += 1,
                "failure" => counts.failures += 1,
                "error" => counts.errors += 1,
                "skipped" => counts.skipped += 1,
                _ => {}
            }
            if !empty {
                depth += 1;
            }
        }
    }
    assert_eq!(depth, 0, "unclosed elements");
    counts
}

fn assert_declared_counts_match(c: &JunitCounts) {
    for (attr, actual) in [
        ("tests", c.tests),
        ("failures", c.failures),
        ("errors", c.errors),
        ("skipped", c.skipped),
    ] {
        assert_eq!(c.declared.get(attr), Some(&actual), "{attr}");
    }
}

#[test]
fn junit_has_a_suite_per_environment_and_the_standard_with_true_counts() {
    let c = parse_junit(&render::report(
        &fx::report(),
        Format::Junit,
        &Style::default(),
    ));
    assert_declared_counts_match(&c);
    assert_eq!(c.suites, 3);
    assert_eq!(c.tests, 11);
    // standard, staging baseline, production baseline and dmarc.
    assert_eq!(c.failures, 4);
    assert_eq!(c.skipped, 1);
    assert_eq!(c.errors, 0);
}

#[test]
fn junit_reports_a_failed_environment_as_errors() {
    let c = parse_junit(&render::report(
        &fx::failed_report(),
        Format::Junit,
        &Style::default(),
    ));
    assert_declared_counts_match(&c);
    assert_eq!(c.errors, 5);
}

#[test]
fn junit_marks_an_unread_environment_without_check_runs_as_an_error() {
    let mut r = fx::failed_report();
    r.checks
        .retain(|c| c.environment.as_deref() != Some("production"));
    let xml = render::report(&r, Format::Junit, &Style::default());
    let c = parse_junit(&xml);
    assert_declared_counts_match(&c);
    assert_eq!(c.errors, 1);
    assert!(xml.contains("name=\"read\""));
}

#[test]
fn junit_stays_well_formed_with_hostile_values() {
    let xml = render::report(&hostile_report(), Format::Junit, &Style::default());
    let c = parse_junit(&xml);
    assert_declared_counts_match(&c);
    // XML 1.0 cannot carry these even as references; they must not appear at all.
    assert!(
        !xml.chars()
            .any(|ch| matches!(ch, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{FFFE}' | '\u{FFFF}')),
        "{xml}"
    );
}

#[test]
fn junit_of_a_diff_has_one_failing_case_per_difference() {
    let c = parse_junit(&render::diff(
        &fx::snapshot_diff(),
        Format::Junit,
        &Style::default(),
    ));
    assert_declared_counts_match(&c);
    assert_eq!((c.tests, c.failures), (6, 6));
    let c = parse_junit(&render::diff(
        &fx::empty_diff(),
        Format::Junit,
        &Style::default(),
    ));
    assert_eq!((c.tests, c.failures), (1, 0));
}

fn load_schema(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs/schemas")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).expect("schema file"))
        .expect("schema JSON")
}

/// Closes every object schema to unknown properties. The published report and diff schemas
/// stay open (additive changes are allowed within /1); the tests close them so that a field
/// added to the model but not to the schema fails here.
fn strict(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            if map.contains_key("properties") && !map.contains_key("additionalProperties") {
                map.insert("additionalProperties".into(), Value::Bool(false));
            }
            map.values_mut().for_each(strict);
        }
        Value::Array(items) => items.iter_mut().for_each(strict),
        _ => {}
    }
}

fn validate(schema_file: &str, instances: &[Value]) {
    for (instance, result) in instances.iter().zip(check(schema_file, instances)) {
        if let Err(e) = result {
            panic!("{schema_file}: {e}\n{instance:#}");
        }
    }
}

fn check(schema_file: &str, instances: &[Value]) -> Vec<Result<(), String>> {
    let mut schema = load_schema(schema_file);
    strict(&mut schema);
    let mut compiler = boon::Compiler::new();
    compiler.enable_format_assertions();
    let loc = format!("file:///{schema_file}");
    compiler
        .add_resource(&loc, schema)
        .expect("schema resource");
    let mut schemas = boon::Schemas::new();
    let index = compiler
        .compile(&loc, &mut schemas)
        .unwrap_or_else(|e| panic!("{schema_file} does not compile: {e:#}"));
    instances
        .iter()
        .map(|i| schemas.validate(i, index).map_err(|e| format!("{e:#}")))
        .collect()
}

fn json_of(out: &str) -> Value {
    serde_json::from_str(out).expect("rendered JSON parses")
}

#[test]
fn rendered_reports_match_the_report_schema() {
    let instances: Vec<Value> = reports()
        .iter()
        .map(|(_, r)| json_of(&render::report(r, Format::Json, &Style::default())))
        .collect();
    validate("report.schema.json", &instances);
}

#[test]
fn a_report_with_relay_facts_matches_the_report_schema() {
    let facts = r#"{"entry":"localhost:2525","host":"localhost","port":2525,"mode":"starttls","reachable":true,"stage":"","error":"","address":"127.0.0.1","ehloname":"moodle","greeting":"220 relay.test ESMTP","starttlsoffered":true,"extensions":["SIZE 33554432","8BITMIME","AUTH LOGIN PLAIN"],"authmechanisms":["LOGIN","PLAIN"],"portspeaks":"","tls":{"protocol":"TLSv1.3","cipher":"TLS_AES_256_GCM_SHA384","bits":256},"cert":{"present":true,"subject":"CN=localhost","issuer":"CN=Test CA","sans":["DNS:localhost"],"validfrom":1796136941,"validto":1797000941,"namematches":true,"verified":false,"verifyerror":"certificate verify failed"},"durationms":212}"#;
    let oauth = r#"{"checked":true,"serviceid":3,"exists":true,"name":"Microsoft","enabled":true,"configured":true,"connected":false,"accountmodified":0,"tokenexpires":0,"tokenmodified":0,"refreshlastrun":0,"refreshfailing":false}"#;
    let relay = |oauth: Option<&str>| maildrift::relay::EnvironmentRelay {
        environment: "production".into(),
        probed_at: jiff::Timestamp::from_second(1796138821).unwrap(),
        cached: true,
        smtphosts: "localhost:2525".into(),
        smtpsecure: "tls".into(),
        smtpauthtype: "XOAUTH2".into(),
        smtpuser_set: true,
        relays: vec![serde_json::from_str(facts).unwrap()],
        oauth: oauth.map(|o| serde_json::from_str(o).unwrap()),
    };
    let mut r = fx::report();
    r.relay = vec![relay(Some(oauth)), relay(None)];
    validate(
        "report.schema.json",
        &[json_of(&render::report(
            &r,
            Format::Json,
            &Style::default(),
        ))],
    );
}

#[test]
fn the_schema_check_catches_missing_unknown_and_mistyped_fields() {
    let good = json_of(&render::report(
        &fx::report(),
        Format::Json,
        &Style::default(),
    ));
    let mut missing = good.clone();
    missing["environments"][0]
        .as_object_mut()
        .map(|o| o.remove("origin"));
    let mut unknown = good.clone();
    unknown["summary"]["extra"] = Value::from(1);
    let mut mistyped = good.clone();
    mistyped["fail_on"] = Value::from("fatal");
    let mut bad_date = good;
    bad_date["standard"]["review_by"] = Value::from("next spring");
    for r in check(
        "report.schema.json",
        &[missing, unknown, mistyped, bad_date],
    ) {
        assert!(r.is_err());
    }
}

#[test]
fn rendered_diffs_match_the_diff_schema() {
    // A cfg.php import on one side: its DKIM keys are unknown.
    let mut imported = fx::empty_diff();
    imported.left.dkim_known = false;
    let instances: Vec<Value> = [fx::snapshot_diff(), fx::empty_diff(), imported]
        .iter()
        .map(|d| json_of(&render::diff(d, Format::Json, &Style::default())))
        .collect();
    validate("diff.schema.json", &instances);
}

#[test]
fn serialised_snapshots_match_the_snapshot_schema() {
    let snapshot = Snapshot {
        warnings: vec!["dkimkeyunreadable: no public key could be derived".into()],
        schema: SCHEMA.into(),
        environment: "staging".into(),
        url: "https://staging.moodle.example.edu".into(),
        taken_at: "2026-03-02T07:29:41Z".parse().expect("timestamp"),
        source: Source::Plugin,
        moodle: MoodleVersion {
            release: "4.5.8+ (Build: 20260126)".into(),
            version: "2024100708.05".into(),
        },
        plugin_version: Some("2026020100".into()),
        settings: BTreeMap::from([(
            "smtphosts".to_string(),
            Setting {
                value: "smtp.example.edu:587".into(),
                isset: true,
                forced: true,
            },
        )]),
        secrets: BTreeMap::from([("smtppass".to_string(), true)]),
        dkim: vec![DkimKey {
            domain: "example.edu".into(),
            selector: "moodle2026".into(),
            keyfile: true,
            publickey: "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA".into(),
        }],
    };
    let mut imported = snapshot.clone();
    imported.source = Source::CfgImport;
    imported.plugin_version = None;
    imported.dkim.clear();
    imported.warnings.clear();
    let instances: Vec<Value> = [snapshot, imported]
        .iter()
        .map(|s| serde_json::to_value(s).expect("snapshot serialises"))
        .collect();
    validate("snapshot.schema.json", &instances);
}

/// Every property a schema lists is required, except the few the model leaves out when unset;
/// with the strict check above this pins the schemas to the serde output both ways.
#[test]
fn schemas_require_every_property_serde_always_writes() {
    // `warnings` (snapshot) is written only when the plugin warned; `state`, `since`, `changes`
    // and `latest_changes` only when the run was compared with a previous one.
    const OPTIONAL: &[&str] = &[
        "waived_by",
        "dkim",
        "relay",
        "dkim_known",
        "warnings",
        "state",
        "since",
        "changes",
        "latest_changes",
    ];
    fn walk(v: &Value, file: &str) {
        if let Value::Object(map) = v {
            if let Some(Value::Object(props)) = map.get("properties") {
                let required: Vec<&str> = map
                    .get("required")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                for key in props.keys() {
                    assert!(
                        required.contains(&key.as_str()) || OPTIONAL.contains(&key.as_str()),
                        "{file}: `{key}` is not required"
                    );
                }
            }
            map.values().for_each(|c| walk(c, file));
        }
    }
    for file in [
        "report.schema.json",
        "snapshot.schema.json",
        "diff.schema.json",
    ] {
        walk(&load_schema(file), file);
    }
}

#[test]
fn a_finding_without_waiver_leaves_the_field_out() {
    let json = json_of(&render::report(
        &fx::report(),
        Format::Json,
        &Style::default(),
    ));
    let findings = json["findings"].as_array().expect("findings array");
    assert!(findings.iter().any(|f| f.get("waived_by").is_none()));
    assert!(findings.iter().any(|f| f["waived_by"].is_object()));
}

#[test]
fn json_output_round_trips_to_the_same_report() {
    let r = fx::report();
    let back: Report =
        serde_json::from_str(&render::report(&r, Format::Json, &Style::default())).expect("parse");
    assert_eq!(back, r);
}

const SPF_PASS: Kind = Kind {
    code: "MD412",
    name: "spf-pass",
    severity: Severity::Info,
    category: "dns",
    remedy: "Nothing to do.",
};

/// The fixture plus passing checks: two in staging, one in production. Its only other info
/// finding (divertallemailsto in staging) is waived.
fn report_with_passes() -> Report {
    let mut r = fx::report();
    for (env, subject) in [
        ("staging", "staging.example.edu 192.0.2.25"),
        ("staging", "staging.example.edu 192.0.2.26"),
        ("production", "example.edu 192.0.2.25"),
    ] {
        r.findings.push(
            Finding::new(
                &SPF_PASS,
                "SPF pass for the relay, decided by ip4:192.0.2.0/26.",
            )
            .env(env)
            .subject(subject),
        );
    }
    r.summary = maildrift::report::Summary::of(&r.findings, &r.environments, r.fail_on);
    r
}

#[test]
fn table_counts_unwaived_info_findings_unless_asked_for_all() {
    let r = report_with_passes();
    let mut style = Style {
        color: false,
        width: Some(100),
        all: false,
    };
    let out = render::report(&r, Format::Table, &style);
    assert!(!out.contains("MD412"), "{out}");
    assert!(
        out.contains("+ 2 passing checks and notes (info) not shown; --all shows them"),
        "{out}"
    );
    assert!(
        out.contains("+ 1 passing check or note (info) not shown; --all shows it"),
        "{out}"
    );
    // A waived finding is info too, but it always shows, marked.
    assert!(out.contains("divertallemailsto  "), "{out}");
    assert!(out.contains("(exception"), "{out}");
    // The summary still counts every finding.
    assert!(out.contains("4 info (1 waived)"), "{out}");

    style.all = true;
    let all = render::report(&r, Format::Table, &style);
    assert_eq!(all.matches("MD412").count(), 3, "{all}");
    assert!(all.contains("(exception"), "{all}");
    assert!(!all.contains("not shown"), "{all}");

    // Other formats list everything either way.
    style.all = false;
    for f in [Format::Json, Format::Markdown, Format::Junit] {
        assert!(render::report(&r, f, &style).contains("MD412"), "{f}");
    }
}

#[test]
fn table_lists_info_findings_when_the_report_fails_on_info() {
    let mut r = report_with_passes();
    r.fail_on = Severity::Info;
    let out = render::report(&r, Format::Table, &Style::default());
    assert_eq!(out.matches("MD412").count(), 3, "{out}");
    assert!(!out.contains("not shown"), "{out}");
}

#[test]
fn a_section_of_only_passing_checks_says_nothing_needs_fixing() {
    let mut r = report_with_passes();
    r.findings
        .retain(|f| f.environment.as_deref() != Some("production") || f.code == "MD412");
    r.summary = maildrift::report::Summary::of(&r.findings, &r.environments, r.fail_on);
    let out = render::report(&r, Format::Table, &Style::default());
    assert!(
        out.contains("Nothing to fix.\n+ 1 passing check or note (info) not shown"),
        "{out}"
    );
}

#[test]
fn table_never_breaks_a_subject_inside_a_word_at_80_columns_or_more() {
    let r = report_with_passes();
    for width in [80u16, 100, 120] {
        for all in [false, true] {
            let style = Style {
                color: false,
                width: Some(width),
                all,
            };
            let out = render::report(&r, Format::Table, &style);
            for f in &r.findings {
                let Some(subject) = f.subject.as_deref() else {
                    continue;
                };
                if !all && f.code == "MD412" {
                    continue;
                }
                for word in subject.split_whitespace() {
                    assert!(out.contains(word), "{word} broken at {width}:\n{out}");
                }
            }
        }
    }
}
