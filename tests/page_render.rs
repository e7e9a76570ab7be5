//! `maildrift page` on a history filled with a generated year of nightly runs and the demo
//! baseline: the Markdown and the self-contained HTML carry every section the standard asks
//! for, and the HTML fetches nothing.
//!
//! With `MAILDRIFT_PAGE_OUT=DIR` the rendered pages are also copied into DIR (CI opens the
//! HTML in headless Chromium from there).

mod cli_common;
mod support;
#[path = "../benches/support/year.rs"]
mod year;

use std::path::Path;

use cli_common::{bare_cmd, demo_dir, run_cmd};
use maildrift::history::{RunInput, RunKind, Store};
use maildrift::report::changes::apply;

fn fill(path: &Path) {
    let mut store = Store::open(path).unwrap();
    for night in 0..200 {
        let mut report = year::report(6, night);
        let prior = store.prior(&report).unwrap();
        apply(&mut report, prior.as_ref(), false);
        store
            .record(&RunInput {
                kind: RunKind::Check,
                report: &report,
                settings: year::settings(6, night),
            })
            .unwrap();
    }
}

fn page_run(dir: &Path, file: &str, extra: &[&str]) -> cli_common::Out {
    let out = run_cmd(
        bare_cmd(dir)
            .env("MAILDRIFT_NOW", "2026-07-20T12:00:00Z")
            .args([
                "page",
                "--month",
                "2026-06",
                "--history",
                "history.sqlite",
                "--baseline",
                demo_dir().join("baseline.toml").to_str().unwrap(),
                "-o",
                file,
            ])
            .args(extra),
    );
    if let (0, Some(keep)) = (out.code, std::env::var_os("MAILDRIFT_PAGE_OUT")) {
        std::fs::create_dir_all(&keep).unwrap();
        std::fs::copy(dir.join(file), Path::new(&keep).join(file)).unwrap();
    }
    out
}

fn page(dir: &Path, file: &str) -> String {
    let out = page_run(dir, file, &[]);
    assert_eq!(out.code, 0, "{}", out.both());
    std::fs::read_to_string(dir.join(file)).unwrap()
}

#[test]
fn the_page_has_every_section_of_the_standard_in_markdown_and_html() {
    let dir = tempfile::tempdir().unwrap();
    fill(&dir.path().join("history.sqlite"));
    for file in ["page.md", "page.html"] {
        let text = page(dir.path(), file);
        for wanted in [
            "Example University",
            "2026-06",
            "Latest change",
            "smtphosts",
            "relay2.example.edu:587",
            "Next review",
            "Scope, as measured",
            "site-005",
            "Binding rules",
            "Site administration > Server > Email > Outgoing mail configuration",
            "Evidence",
            "Active exceptions",
            "Metrics, last 12 months",
            "Delivery rate (proxy)",
            "Queue delay at peak",
            "MD830",
            "2025-07",
        ] {
            let wanted = if file.ends_with(".html") {
                wanted.replace('>', "&gt;")
            } else {
                wanted.to_string()
            };
            assert!(text.contains(&wanted), "{file} lacks {wanted:?}");
        }
    }
}

#[test]
fn the_html_page_is_self_contained_and_draws_three_charts() {
    let dir = tempfile::tempdir().unwrap();
    fill(&dir.path().join("history.sqlite"));
    let html = page(dir.path(), "page.html");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert_eq!(html.matches("<svg").count(), 3);
    assert!(html.contains("Content-Security-Policy\" content=\"default-src 'none'"));
    for banned in [
        "<script", "<link", "<img", "<iframe", "src=", "url(", "@import",
    ] {
        assert!(!html.contains(banned), "the page contains {banned}");
    }
    // June of site-001 is over the threshold: a red bar in the delivery-rate chart.
    assert!(html.contains("class=\"bar over\""));
    assert!(html.contains("@media print"));
}

#[test]
fn page_refuses_an_unknown_extension_and_a_missing_history() {
    let dir = tempfile::tempdir().unwrap();
    let out =
        run_cmd(bare_cmd(dir.path()).args(["page", "--history", "h.sqlite", "-o", "page.pdf"]));
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains(".md or .html"), "{}", out.stderr);
    let out =
        run_cmd(bare_cmd(dir.path()).args(["page", "--history", "h.sqlite", "-o", "page.md"]));
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("no history store at h.sqlite"),
        "{}",
        out.stderr
    );
}

#[test]
fn page_for_one_environment_shows_only_its_scope_and_its_metrics() {
    let dir = tempfile::tempdir().unwrap();
    fill(&dir.path().join("history.sqlite"));
    // site-001 had a bad June (400 failures a week): its own page shows it over threshold.
    for file in ["one.md", "one.html"] {
        let out = page_run(dir.path(), file, &["--environment", "site-001"]);
        assert_eq!(out.code, 0, "{}", out.both());
        let text = std::fs::read_to_string(dir.path().join(file)).unwrap();
        assert!(text.contains("Limited to site-001"), "{text}");
        assert!(
            text.contains("MD830"),
            "{file}: June's review must name MD830:\n{text}"
        );
        // The demo's evidence for production is not site-001's.
        assert!(!text.contains("Q3 2026"), "{file}:\n{text}");
        for other in ["site-000", "site-002", "site-005"] {
            assert!(!text.contains(other), "{file} mentions {other}:\n{text}");
        }
    }
    // site-003 was fine all year: no review finding on its page.
    let out = page_run(dir.path(), "three.md", &["-e", "site-003"]);
    assert_eq!(out.code, 0, "{}", out.both());
    let text = std::fs::read_to_string(dir.path().join("three.md")).unwrap();
    assert!(!text.contains("MD830") && !text.contains("MD831"), "{text}");
    assert!(text.contains("cover site-003"), "{text}");
}

#[test]
fn page_for_an_environment_the_history_never_read_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    fill(&dir.path().join("history.sqlite"));
    let out = page_run(dir.path(), "p.md", &["--environment", "site-404"]);
    assert_eq!(out.code, 1, "{}", out.both());
    assert!(
        out.stderr.contains("--environment site-404")
            && out.stderr.contains("has no run that read it")
            && out.stderr.contains("site-000"),
        "{}",
        out.stderr
    );
    assert!(!dir.path().join("p.md").exists());
}
