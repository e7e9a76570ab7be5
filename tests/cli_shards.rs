//! Shards end to end: a fleet of fake sites checked with `--shard 1/3`, `2/3` and `3/3`, the
//! three JSON reports merged with `report merge`, gives what one unsplit `check` gives, in every
//! format, with the same exit code. Times that differ between any two runs (when a site was read)
//! are the only thing masked.

mod cli_common;
mod support;

use cli_common::{EnvSpec, Out, TOKEN, World};
use support::fake_moodle::{FakeMoodle, FakeSite, Fault};

const FORMATS: [&str; 5] = ["json", "table", "markdown", "junit", "openmetrics"];

/// Settings every site must have, an exception one shard's site uses, and one nobody uses
/// (stale in every shard, reported once).
const BASELINE: &str = r#"schema = "maildrift.baseline/1"

[standard]
name = "Fleet standard"
owner = "Mail team"
review_by = 2027-03-01

[settings]
smtpauthtype = "LOGIN"
mailnewline = "LF"
noemailever = "0"

[[exceptions]]
setting = "noemailever"
environment = "site-05"
value = "1"
reason = "load test"
owner = "Tester"
expires = 2028-06-30

[[exceptions]]
setting = "mailprefix"
value = "old+"
reason = "nobody uses it any more"
owner = "Tester"
expires = 2028-06-30
"#;

/// Names in alphabetical order, so the unsplit run's config order is the merged report's order.
fn fleet(broken: bool) -> (FakeMoodle, Vec<String>) {
    let mut sites = Vec::new();
    let mut names = Vec::new();
    for i in 0..9 {
        let name = format!("site-{i:02}");
        let site = match i % 3 {
            0 => FakeSite::production(&name, TOKEN),
            1 => FakeSite::staging(&name, TOKEN),
            _ => FakeSite::production(&name, TOKEN).setting("noemailever", "1"),
        };
        let site = if broken && i == 4 {
            site.with_fault(Fault::InvalidToken)
        } else {
            site
        };
        sites.push(site);
        names.push(name);
    }
    (FakeMoodle::start(sites), names)
}

fn world(fake: &FakeMoodle, names: &[String]) -> World {
    let envs: Vec<EnvSpec> = names
        .iter()
        .map(|n| EnvSpec::live(n, &fake.url(n)))
        .collect();
    let w = World::new(&envs, Some("baseline.toml"));
    w.write("baseline.toml", BASELINE);
    w
}

/// Replaces RFC 3339 times and Unix-seconds figures of a time with fixed text: the moment a
/// site was read differs between any two runs.
fn mask_times(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        // 2026-12-01T15:04:05Z or with fractions / offset
        let is_time = b.len() - i >= 20
            && b[i..i + 4].iter().all(u8::is_ascii_digit)
            && b[i + 4] == b'-'
            && b[i + 10] == b'T'
            && b[i + 13] == b':';
        if is_time {
            let mut j = i + 19;
            while j < b.len() && (b[j].is_ascii_digit() || b".:+-Z".contains(&b[j])) {
                j += 1;
            }
            out.push_str("<time>");
            i = j;
            continue;
        }
        let c = text[i..].chars().next().unwrap();
        out.push(c);
        i += c.len_utf8();
    }
    out
}

fn run_all(w: &World, common: &[&str]) -> (Vec<Out>, Vec<Out>) {
    let whole: Vec<Out> = FORMATS
        .iter()
        .map(|f| {
            let mut args = vec!["check"];
            args.extend_from_slice(common);
            args.extend_from_slice(&["--format", f]);
            w.run(&args)
        })
        .collect();
    let mut shard_files = Vec::new();
    let mut shard_codes = Vec::new();
    for i in 1..=3 {
        let file = format!("shard-{i}.json");
        let spec = format!("{i}/3");
        let mut args = vec!["check"];
        args.extend_from_slice(common);
        args.extend_from_slice(&["--shard", &spec, "--format", "json", "-o", &file]);
        let out = w.run(&args);
        assert!(
            [0, 1, 2].contains(&out.code),
            "shard {spec}: {}",
            out.both()
        );
        shard_codes.push(out.code);
        shard_files.push(w.path(&file).to_string_lossy().into_owned());
    }
    let merged: Vec<Out> = FORMATS
        .iter()
        .map(|f| {
            let mut args = vec!["report", "merge"];
            args.extend(shard_files.iter().map(String::as_str));
            args.extend_from_slice(&["--format", f]);
            w.run(&args)
        })
        .collect();
    (whole, merged)
}

fn assert_same(whole: &[Out], merged: &[Out], expected_code: i32) {
    for ((format, w), m) in FORMATS.iter().zip(whole).zip(merged) {
        assert_eq!(w.code, expected_code, "unsplit {format}: {}", w.both());
        assert_eq!(m.code, w.code, "merged {format}: {}", m.both());
        let (a, b) = (mask_times(&w.stdout), mask_times(&m.stdout));
        if a != b {
            if let Some(dir) = std::env::var_os("MAILDRIFT_SHARDS_DUMP") {
                let dir = std::path::Path::new(&dir);
                std::fs::write(dir.join(format!("unsplit.{format}")), &a).unwrap();
                std::fs::write(dir.join(format!("merged.{format}")), &b).unwrap();
            }
            let first = a
                .lines()
                .zip(b.lines())
                .position(|(x, y)| x != y)
                .unwrap_or(a.lines().count().min(b.lines().count()));
            panic!(
                "{format}: merged shards differ from the unsplit run from line {}:\n--- unsplit\n{}\n--- merged\n{}",
                first + 1,
                a.lines().skip(first).take(8).collect::<Vec<_>>().join("\n"),
                b.lines().skip(first).take(8).collect::<Vec<_>>().join("\n"),
            );
        }
    }
}

#[test]
fn three_shards_merged_equal_the_unsplit_run_in_every_format() {
    let (fake, names) = fleet(false);
    let w = world(&fake, &names);
    let (whole, merged) = run_all(&w, &["--no-dns"]);
    // Two sites never send mail (the third has an exception): drift.
    assert_same(&whole, &merged, 2);
    let report = merged[0].json();
    assert_eq!(report["environments"].as_array().unwrap().len(), 9);
    assert_eq!(report["health"].as_array().map(Vec::len), Some(9));
}

#[test]
fn a_failed_site_in_one_shard_fails_the_merged_run_as_it_fails_the_whole() {
    let (fake, names) = fleet(true);
    let w = world(&fake, &names);
    let (whole, merged) = run_all(&w, &["--no-dns"]);
    assert_same(&whole, &merged, 1);
}

#[test]
fn every_environment_lands_in_exactly_one_shard() {
    let (fake, names) = fleet(false);
    let w = world(&fake, &names);
    let mut seen = Vec::new();
    for i in 1..=3 {
        let out = w.run(&[
            "check",
            "--no-dns",
            "--no-health",
            "--shard",
            &format!("{i}/3"),
            "--format",
            "json",
        ]);
        for e in out.json()["environments"].as_array().unwrap() {
            seen.push(e["name"].as_str().unwrap().to_string());
        }
    }
    seen.sort();
    assert_eq!(seen, names);
}

#[test]
fn a_fleet_of_one_split_in_three_merges_to_the_unsplit_run_with_no_drift_check() {
    // Drift needs two environments: neither the unsplit run nor the shard holding the only
    // site may run it, and the two empty shards add nothing.
    let names = vec!["site-00".to_string()];
    let fake = FakeMoodle::start(vec![FakeSite::production(&names[0], TOKEN)]);
    let w = world(&fake, &names);
    let (whole, merged) = run_all(&w, &["--no-dns"]);
    assert_same(&whole, &merged, 0);
    for (name, out) in [("unsplit", &whole[0]), ("merged", &merged[0])] {
        let report = out.json();
        let checks: Vec<&str> = report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["check"].as_str().unwrap())
            .collect();
        assert!(!checks.contains(&"drift"), "{name}: {checks:?}");
        assert!(checks.contains(&"sender"), "{name}: {checks:?}");
    }
}
