//! `maildrift check` against the fake Moodle with a baseline in a tempdir: exit codes, the
//! threshold, failures, offline snapshots, several outputs, and configuration errors.

mod cli_common;
mod support;

use cli_common::{CLEAN_BASELINE, EnvSpec, TOKEN, World, bare_cmd, demo_dir, fake_pair, run_cmd};
use support::fake_moodle::{FakeMoodle, FakeSite};

fn codes(report: &serde_json::Value) -> Vec<(String, String)> {
    report["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("no findings array: {report}"))
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap_or("").to_string(),
                f["environment"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn with_baseline(fake: &FakeMoodle) -> World {
    let w = World::two_sites(fake, Some("baseline.toml"));
    w.write("baseline.toml", CLEAN_BASELINE);
    w
}

/// Production relays through a host the baseline does not allow.
fn drifting_production() -> FakeMoodle {
    FakeMoodle::start(vec![
        FakeSite::production("production", TOKEN)
            .setting("smtphosts", "rogue-relay.example.net:25"),
        FakeSite::staging("staging", TOKEN),
    ])
}

#[test]
fn check_of_sites_matching_the_baseline_exits_0() {
    let fake = fake_pair();
    let w = with_baseline(&fake);
    let out = w.run(&["check", "--no-dns", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.both());
    let report = out.json();
    assert_eq!(report["schema"], "maildrift.report/2");
    assert_eq!(report["summary"]["errors"], 0, "{}", out.stdout);
    assert_eq!(report["environments"].as_array().unwrap().len(), 2);
}

#[test]
fn check_with_a_setting_off_the_baseline_exits_2_and_names_it() {
    let fake = drifting_production();
    let w = with_baseline(&fake);
    let out = w.run(&["check", "--no-dns", "--format", "json"]);
    assert_eq!(out.code, 2, "{}", out.both());
    assert!(
        codes(&out.json()).contains(&("MD101".into(), "production".into())),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("rogue-relay.example.net:25"),
        "{}",
        out.stdout
    );
    let table = w.run(&["check", "--no-dns", "--format", "table"]);
    assert_eq!(table.code, 2, "{}", table.both());
    assert!(table.stdout.contains("MD101"), "{}", table.both());
}

#[test]
fn check_fail_on_warning_turns_warnings_only_into_exit_2() {
    let fake = fake_pair();
    let w = with_baseline(&fake);
    let default = w.run(&["check", "--no-dns", "--format", "json"]);
    assert_eq!(default.code, 0, "{}", default.both());
    let report = default.json();
    assert_eq!(report["summary"]["errors"], 0);
    assert!(
        report["summary"]["warnings"].as_u64().unwrap() > 0,
        "the fixture needs warnings: {}",
        default.stdout
    );
    let strict = w.run(&[
        "check",
        "--no-dns",
        "--format",
        "json",
        "--fail-on",
        "warning",
    ]);
    assert_eq!(strict.code, 2, "{}", strict.both());
    assert_eq!(strict.json()["fail_on"], "warning");
}

/// Production from `fake`, staging at a loopback port nothing listens on.
fn with_unreachable_staging(fake: &FakeMoodle) -> World {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let w = World::new(
        &[
            EnvSpec::live("production", &fake.url("production")),
            EnvSpec::live("staging", &format!("http://127.0.0.1:{port}/staging")),
        ],
        Some("baseline.toml"),
    );
    w.write("baseline.toml", CLEAN_BASELINE);
    w
}

#[test]
fn check_with_an_unreachable_site_exits_1_and_still_reports_the_other_sites_findings() {
    let fake = drifting_production();
    let w = with_unreachable_staging(&fake);
    let out = w.run(&["check", "--no-dns", "--format", "json", "-o", "r.json"]);
    assert_eq!(out.code, 1, "{}", out.both());
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("r.json")).unwrap()).unwrap();
    assert!(
        codes(&report).contains(&("MD101".into(), "production".into())),
        "{report}"
    );
    let staging = &report["environments"][1];
    assert_eq!(staging["name"], "staging");
    assert_eq!(staging["state"], "failed");
    assert!(
        staging["error"].as_str().unwrap().contains("refused"),
        "{staging}"
    );
    // With the report in a file, the terminal (the CI log) must still say why the run failed.
    assert!(
        out.stderr.contains("staging") && out.stderr.contains("refused"),
        "{}",
        out.both()
    );
}

#[test]
fn check_with_snapshot_files_runs_offline() {
    let fake = fake_pair();
    let w = with_baseline(&fake);
    assert_eq!(w.run(&["pull", "-o", "snaps"]).code, 0);
    fake.clear_requests();
    let out = w.run(&[
        "check",
        "--no-dns",
        "--format",
        "json",
        "--snapshot",
        "production=snaps/production.json",
        "--snapshot",
        "staging=snaps/staging.json",
    ]);
    assert_eq!(out.code, 0, "{}", out.both());
    assert!(
        fake.requests().is_empty(),
        "check --snapshot contacted a site: {:?}",
        fake.requests()
    );
    let report = out.json();
    assert_eq!(
        report["environments"][0]["origin"], "snaps/production.json",
        "{}",
        out.stdout
    );
}

#[test]
fn check_with_snapshot_files_needs_no_config() {
    let fake = fake_pair();
    let w = with_baseline(&fake);
    assert_eq!(w.run(&["pull", "-o", "snaps"]).code, 0);
    std::fs::remove_file(&w.config).unwrap();
    let out = run_cmd(bare_cmd(w.dir.path()).args([
        "check",
        "--no-dns",
        "--format",
        "json",
        "--baseline",
        "baseline.toml",
        "--snapshot",
        "production=snaps/production.json",
        "--snapshot",
        "staging=snaps/staging.json",
    ]));
    assert_eq!(out.code, 0, "{}", out.both());
}

#[test]
fn check_writes_each_format_to_its_file_and_the_last_to_stdout() {
    let fake = drifting_production();
    let w = with_baseline(&fake);
    let out = w.run(&[
        "check", "--no-dns", "--format", "json", "-o", "r.json", "--format", "junit", "-o",
        "r.xml", "--format", "markdown",
    ]);
    assert_eq!(out.code, 2, "{}", out.both());
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("r.json")).unwrap()).unwrap();
    assert_eq!(report["schema"], "maildrift.report/2");
    assert!(codes(&report).iter().any(|(c, _)| c == "MD101"));

    let xml = std::fs::read_to_string(w.path("r.xml")).unwrap();
    let mut reader = quick_xml::Reader::from_str(&xml);
    let (mut testcases, mut failures) = (0, 0);
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e)) => {
                match e.name().as_ref() {
                    b"testcase" => testcases += 1,
                    b"failure" => failures += 1,
                    _ => {}
                }
            }
            Ok(_) => {}
            Err(e) => panic!(
                "JUnit is not well-formed XML at {}: {e}\n{xml}",
                reader.buffer_position()
            ),
        }
    }
    assert!(testcases > 0 && failures > 0, "{xml}");

    // Markdown went to stdout; neither JSON nor XML did.
    assert!(out.stdout.contains("MD101"), "{}", out.both());
    assert!(
        out.stdout.contains('|') || out.stdout.contains('#'),
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout.trim_start().starts_with('{') && !out.stdout.contains("<?xml"),
        "{}",
        out.stdout
    );

    // Written atomically: no temporary files left next to them.
    let mut names: Vec<String> = std::fs::read_dir(w.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["baseline.toml", "maildrift.toml", "r.json", "r.xml"]
    );
}

#[test]
fn check_with_a_malformed_baseline_exits_1_and_points_at_file_line_and_column() {
    let fake = fake_pair();
    let w = World::two_sites(&fake, Some("baseline.toml"));
    // Line 14: a setting name maildrift does not know (a typo must not disable a check).
    let bad = CLEAN_BASELINE.replace("mailnewline = \"LF\"", "mailnewlin = \"LF\"");
    assert_eq!(
        bad.lines().nth(13),
        Some("mailnewlin = \"LF\""),
        "fixture moved"
    );
    w.write("baseline.toml", &bad);
    let out = w.run(&["check", "--no-dns", "--format", "json"]);
    assert_eq!(out.code, 1, "{}", out.both());
    assert!(out.stderr.contains("baseline.toml:14:1"), "{}", out.both());
    assert!(out.stdout.is_empty(), "{}", out.both());

    // A TOML syntax error too.
    w.write(
        "baseline.toml",
        &CLEAN_BASELINE.replace("noemailever = \"0\"", "noemailever = \"0"),
    );
    let out = w.run(&["check", "--no-dns", "--format", "json"]);
    assert_eq!(out.code, 1, "{}", out.both());
    let pos = out
        .stderr
        .find("baseline.toml:")
        .unwrap_or_else(|| panic!("{}", out.both()));
    let after: String = out.stderr[pos + "baseline.toml:".len()..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == ':')
        .collect();
    assert!(
        after.starts_with("15:"),
        "expected line 15, got {after:?}: {}",
        out.both()
    );
}

#[test]
fn check_of_an_unknown_environment_exits_1_and_lists_the_known_ones() {
    let fake = fake_pair();
    let w = with_baseline(&fake);
    let out = w.run(&["check", "--no-dns", "prodution"]);
    assert_eq!(out.code, 1, "{}", out.both());
    assert!(out.stderr.contains("prodution"), "{}", out.both());
    assert!(out.stderr.contains("production, staging"), "{}", out.both());
    assert!(fake.requests().is_empty());
}

#[test]
fn check_without_a_config_exits_1_with_a_hint() {
    let empty = tempfile::tempdir().unwrap();
    let out = run_cmd(bare_cmd(empty.path()).args(["check", "--no-dns"]));
    assert_eq!(out.code, 1, "{}", out.both());
    assert!(out.stderr.contains("no config file"), "{}", out.both());
    assert!(out.stderr.contains("--config"), "{}", out.both());
    assert!(out.stderr.contains("MAILDRIFT_CONFIG"), "{}", out.both());
}

#[test]
fn demo_check_finds_relay_drift_an_expired_exception_and_the_divert_mismatch() {
    let demo = demo_dir();
    let out = run_cmd(
        bare_cmd(&demo)
            .arg("--config")
            .arg(demo.join("maildrift.toml"))
            .args(["check", "--no-dns", "--format", "json"]),
    );
    assert_eq!(out.code, 2, "{}", out.both());
    let report = out.json();
    let found = codes(&report);
    let has = |code: &str| found.iter().any(|(c, _)| c == code);
    assert!(has("MD101"), "{found:?}");
    assert!(has("MD002"), "expired exception: {found:?}");
    assert!(
        has("MD305") || out.stdout.contains("divertallemailsto"),
        "{found:?}"
    );
}

#[test]
fn check_of_an_environment_not_given_by_snapshot_exits_1_instead_of_checking_nothing() {
    let fake = fake_pair();
    let w = with_baseline(&fake);
    assert_eq!(w.run(&["pull", "-o", "snaps"]).code, 0);
    let out = w.run(&[
        "check",
        "--no-dns",
        "--format",
        "json",
        "--snapshot",
        "production=snaps/production.json",
        "prodution",
    ]);
    assert_eq!(out.code, 1, "{}", out.both());
    assert!(out.stderr.contains("prodution"), "{}", out.both());
    assert!(out.stderr.contains("production"), "{}", out.both());
    // Naming one that is given still narrows the run to it.
    let out = w.run(&[
        "check",
        "--no-dns",
        "--format",
        "json",
        "--snapshot",
        "production=snaps/production.json",
        "--snapshot",
        "staging=snaps/staging.json",
        "staging",
    ]);
    assert_eq!(out.code, 0, "{}", out.both());
    let envs = out.json()["environments"].as_array().unwrap().len();
    assert_eq!(envs, 1, "{}", out.stdout);
}

#[test]
fn the_outcome_line_names_the_exit_code_the_run_returns() {
    // The number in `Outcome: … (exit N)`, wherever the table wrapped the line.
    let named = |stdout: &str| -> i32 {
        let flat = stdout.split_whitespace().collect::<Vec<_>>().join(" ");
        let at = flat
            .rfind("(exit ")
            .unwrap_or_else(|| panic!("no outcome line: {stdout}"));
        flat[at + 6..]
            .split(')')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no exit code in: {}", &flat[at..]))
    };
    let clean = fake_pair();
    let drifting = drifting_production();
    for (w, expected) in [
        (with_baseline(&clean), 0),
        (with_baseline(&drifting), 2),
        (with_unreachable_staging(&drifting), 1),
    ] {
        let out = w.run(&["check", "--no-dns", "--format", "table"]);
        assert_eq!(out.code, expected, "{}", out.both());
        assert_eq!(named(&out.stdout), expected, "{}", out.both());
    }
}

#[test]
fn check_all_shows_info_findings_in_the_table_on_the_terminal_and_in_a_file() {
    // Staging on another Moodle release: MD204, an info finding the table only counts.
    let fake = fake_pair();
    let w = with_baseline(&fake);
    assert_eq!(w.run(&["pull", "-o", "snaps"]).code, 0);
    let staging = w.path("snaps/staging.json");
    let text = std::fs::read_to_string(&staging).unwrap();
    let mut snap: serde_json::Value = serde_json::from_str(&text).unwrap();
    snap["moodle"]["release"] = "4.4.2 (Build: 20240812)".into();
    snap["moodle"]["version"] = "2024042202.00".into();
    std::fs::write(&staging, snap.to_string()).unwrap();
    let check = |extra: &[&str]| {
        let mut args = vec![
            "check",
            "--no-dns",
            "--snapshot",
            "production=snaps/production.json",
            "--snapshot",
            "staging=snaps/staging.json",
        ];
        args.extend_from_slice(extra);
        let out = w.run(&args);
        assert_eq!(out.code, 0, "{}", out.both());
        out
    };
    let report = check(&["--format", "json"]).json();
    assert!(
        codes(&report).contains(&("MD204".into(), "staging".into())),
        "{report}"
    );
    let counted = check(&["--format", "table"]);
    assert!(!counted.stdout.contains("MD204"), "{}", counted.stdout);
    let shown = check(&["--format", "table", "--all"]);
    assert!(shown.stdout.contains("MD204"), "{}", shown.stdout);
    check(&["--format", "table", "-o", "r.txt", "--all"]);
    let text = std::fs::read_to_string(w.path("r.txt")).unwrap();
    assert!(text.contains("MD204"), "{text}");
}
