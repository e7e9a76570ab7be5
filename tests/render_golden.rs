//! Golden-file tests: rendered output compared byte for byte with `tests/golden/*`.
//!
//! `UPDATE_GOLDEN=1 cargo test --test render_golden` rewrites the files; review the diff.

mod render_fixture;

use std::path::PathBuf;

use maildrift::report::render::{self, Format, Style};
use render_fixture as fx;

fn check_golden(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).expect("write golden file");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run UPDATE_GOLDEN=1 cargo test --test render_golden",
            path.display()
        )
    });
    if expected != actual {
        let diff = similar::TextDiff::from_lines(expected.as_str(), actual)
            .unified_diff()
            .header("golden", "rendered")
            .to_string();
        panic!("{name} differs from its golden file:\n{diff}");
    }
}

const PLAIN: Style = Style {
    color: false,
    width: None,
    all: false,
};
const WIDE: Style = Style {
    color: false,
    width: Some(120),
    all: false,
};

#[test]
fn report_table_matches_golden() {
    check_golden(
        "report.txt",
        &render::report(&fx::report(), Format::Table, &WIDE),
    );
}

#[test]
fn report_table_at_80_columns_matches_golden() {
    let style = Style {
        color: false,
        width: Some(80),
        all: false,
    };
    check_golden(
        "report.80.txt",
        &render::report(&fx::report(), Format::Table, &style),
    );
}

#[test]
fn report_table_in_colour_matches_golden() {
    let style = Style {
        color: true,
        width: Some(120),
        all: false,
    };
    check_golden(
        "report.color.txt",
        &render::report(&fx::report(), Format::Table, &style),
    );
}

/// The fixture plus two passing checks in staging: the table counts them, `all` lists them.
fn report_with_passes() -> maildrift::report::Report {
    use maildrift::findings::{Finding, Kind, Severity};
    const SPF_PASS: Kind = Kind {
        code: "MD412",
        name: "spf-pass",
        severity: Severity::Info,
        category: "dns",
        remedy: "Nothing to do.",
    };
    let mut r = fx::report();
    for ip in ["192.0.2.25", "192.0.2.26"] {
        r.findings.push(
            Finding::new(
                &SPF_PASS,
                format!("SPF pass for {ip} as noreply@staging.example.edu."),
            )
            .env("staging")
            .subject(format!("staging.example.edu {ip}")),
        );
    }
    r.summary = maildrift::report::Summary::of(&r.findings, &r.environments, r.fail_on);
    r
}

#[test]
fn report_table_with_passing_checks_matches_golden() {
    let mut style = Style {
        color: false,
        width: Some(80),
        all: false,
    };
    check_golden(
        "report-passes.80.txt",
        &render::report(&report_with_passes(), Format::Table, &style),
    );
    style.all = true;
    check_golden(
        "report-passes-all.80.txt",
        &render::report(&report_with_passes(), Format::Table, &style),
    );
}

#[test]
fn failed_environment_table_matches_golden() {
    check_golden(
        "report-failed.txt",
        &render::report(&fx::failed_report(), Format::Table, &PLAIN),
    );
}

#[test]
fn clean_report_table_matches_golden() {
    check_golden(
        "report-clean.txt",
        &render::report(&fx::clean_report(), Format::Table, &PLAIN),
    );
}

#[test]
fn report_markdown_matches_golden() {
    check_golden(
        "report.md",
        &render::report(&fx::report(), Format::Markdown, &PLAIN),
    );
}

#[test]
fn failed_environment_markdown_matches_golden() {
    check_golden(
        "report-failed.md",
        &render::report(&fx::failed_report(), Format::Markdown, &PLAIN),
    );
}

#[test]
fn report_junit_matches_golden() {
    check_golden(
        "report.junit.xml",
        &render::report(&fx::report(), Format::Junit, &PLAIN),
    );
}

#[test]
fn failed_environment_junit_matches_golden() {
    check_golden(
        "report-failed.junit.xml",
        &render::report(&fx::failed_report(), Format::Junit, &PLAIN),
    );
}

#[test]
fn report_json_matches_golden() {
    check_golden(
        "report.json",
        &render::report(&fx::report(), Format::Json, &PLAIN),
    );
}

#[test]
fn diff_table_matches_golden() {
    check_golden(
        "diff.txt",
        &render::diff(&fx::snapshot_diff(), Format::Table, &WIDE),
    );
}

#[test]
fn diff_table_in_colour_matches_golden() {
    let style = Style {
        color: true,
        width: Some(120),
        all: false,
    };
    check_golden(
        "diff.color.txt",
        &render::diff(&fx::snapshot_diff(), Format::Table, &style),
    );
}

#[test]
fn diff_markdown_matches_golden() {
    check_golden(
        "diff.md",
        &render::diff(&fx::snapshot_diff(), Format::Markdown, &PLAIN),
    );
}

#[test]
fn diff_json_matches_golden() {
    check_golden(
        "diff.json",
        &render::diff(&fx::snapshot_diff(), Format::Json, &PLAIN),
    );
}

#[test]
fn empty_diff_says_the_environments_are_the_same() {
    let out = render::diff(&fx::empty_diff(), Format::Table, &PLAIN);
    check_golden("diff-empty.txt", &out);
    assert!(out.contains("staging and production have the same mail settings"));
}

#[test]
fn compared_report_table_leads_with_new_and_resolved() {
    check_golden(
        "report-compared.txt",
        &render::report(&fx::compared_report(), Format::Table, &WIDE),
    );
}

#[test]
fn compared_report_markdown_leads_with_new_and_resolved() {
    check_golden(
        "report-compared.md",
        &render::report(&fx::compared_report(), Format::Markdown, &PLAIN),
    );
}

#[test]
fn compared_report_json_carries_states_and_resolved() {
    check_golden(
        "report-compared.json",
        &render::report(&fx::compared_report(), Format::Json, &PLAIN),
    );
}
