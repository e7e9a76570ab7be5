//! JUnit XML for CI test reporting: one `<testsuite>` per environment (and one for the
//! standard), one `<testcase>` per check run.
//!
//! Written by hand rather than through an XML library: the structure is small and fixed, and
//! the escaping rules below are the part that matters.

use std::fmt::Write as _;

use super::environment_keys;
use crate::compare::diff::SnapshotDiff;
use crate::findings::Finding;
use crate::report::{CheckState, EnvState, Report};

/// Characters XML 1.0 cannot carry at all, not even as a character reference.
fn xml_forbidden(c: char) -> bool {
    !matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Escapes text for an element body. Characters XML cannot carry are written as visible
/// `\u{…}` escapes so a stray control character in a Moodle value can't make the file invalid.
fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            // A literal CR would be read back as a new line.
            '\r' => out.push_str("&#13;"),
            // C1 controls are legal but invisible and confuse CI log viewers.
            c if xml_forbidden(c) || (c.is_control() && c != '\n' && c != '\t') => {
                out.extend(c.escape_unicode())
            }
            c => out.push(c),
        }
    }
    out
}

/// Escapes text for an attribute value in double quotes. White space other than spaces is
/// written as character references: a parser would otherwise normalise it to spaces.
fn attr(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\t' => out.push_str("&#9;"),
            c => out.push_str(&text(c.encode_utf8(&mut [0; 4]))),
        }
    }
    out
}

enum Verdict {
    Passed,
    Failed {
        message: String,
        kind: String,
        body: String,
    },
    Errored(String),
    Skipped(Option<String>),
}

struct Case<'a> {
    name: String,
    verdict: Verdict,
    /// Findings below the threshold, listed as output so they are visible but do not fail.
    below: Vec<&'a Finding>,
}

/// One finding as plain text: a headline, then indented detail lines.
fn describe(f: &Finding) -> String {
    let mut s = format!("[{}] {}", f.severity, f.code);
    if let Some(subject) = &f.subject {
        let _ = write!(s, " {subject}");
    }
    let _ = write!(s, ": {}", f.message);
    let mut field = |label: &str, v: &str| {
        let v = if v.is_empty() { "(empty)" } else { v };
        let _ = write!(s, "\n  {label:<9} {}", v.replace('\n', "\n            "));
    };
    if let Some(e) = &f.expected {
        field("expected:", e);
    }
    if let Some(a) = &f.actual {
        field("actual:", a);
    }
    if let Some(w) = &f.waived_by {
        field(
            "waived:",
            &format!("until {} by {} ({})", w.expires, w.owner, w.reason),
        );
    }
    if !f.remedy.is_empty() {
        field("remedy:", &f.remedy);
    }
    s
}

fn failure_of(report: &Report, failing: &[&Finding]) -> Verdict {
    let mut codes: Vec<&str> = Vec::new();
    for f in failing {
        if !codes.contains(&f.code.as_str()) {
            codes.push(&f.code);
        }
    }
    let message = match failing {
        [one] => one.message.clone(),
        many => format!("{} findings at or above {}", many.len(), report.fail_on),
    };
    Verdict::Failed {
        message,
        kind: codes.join(","),
        body: failing
            .iter()
            .map(|f| describe(f))
            .collect::<Vec<_>>()
            .join("\n\n"),
    }
}

fn cases<'a>(report: &'a Report, env: Option<&str>) -> Vec<Case<'a>> {
    let of_env = |f: &&Finding| f.environment.as_deref() == env;
    // With --fail-on-new a persisting finding at the threshold does not gate: it is listed
    // as output like the findings below the threshold.
    let split = |category: &str| -> (Vec<&'a Finding>, Vec<&'a Finding>) {
        report
            .findings
            .iter()
            .filter(of_env)
            .filter(|f| f.category == category)
            .partition(|f| report.gates(f))
    };
    let held_back = |below: &[&Finding]| below.iter().any(|f| f.severity >= report.fail_on);
    let mut out = Vec::new();
    for run in report
        .checks
        .iter()
        .filter(|c| c.environment.as_deref() == env)
    {
        let (failing, below) = split(&run.check);
        let verdict = match run.state {
            CheckState::Errored => Verdict::Errored(
                run.detail
                    .clone()
                    .unwrap_or_else(|| "the check could not run".to_string()),
            ),
            CheckState::Skipped => Verdict::Skipped(run.detail.clone()),
            _ if !failing.is_empty() => failure_of(report, &failing),
            // Failed only through findings that --fail-on-new holds back: the gate passes.
            CheckState::Failed if held_back(&below) => Verdict::Passed,
            // The check says it failed but nothing at the threshold explains why: still fail,
            // a gate must not turn green on an inconsistency.
            CheckState::Failed => Verdict::Failed {
                message: run
                    .detail
                    .clone()
                    .unwrap_or_else(|| "the check failed".to_string()),
                kind: "failed".to_string(),
                body: String::new(),
            },
            CheckState::Passed => Verdict::Passed,
        };
        let mut below = below;
        if matches!(verdict, Verdict::Errored(_) | Verdict::Skipped(_)) {
            below.splice(0..0, failing);
        }
        out.push(Case {
            name: run.check.clone(),
            verdict,
            below,
        });
    }

    // Failing findings no check run accounts for still fail a test case of their category,
    // so the JUnit view can never be greener than the exit code.
    let mut orphan_categories: Vec<&str> = Vec::new();
    for f in report.findings.iter().filter(of_env) {
        let covered = report
            .checks
            .iter()
            .any(|c| c.environment.as_deref() == env && c.check == f.category);
        if !covered && !orphan_categories.contains(&f.category.as_str()) {
            orphan_categories.push(&f.category);
        }
    }
    for category in orphan_categories {
        let (failing, below) = split(category);
        out.push(Case {
            name: category.to_string(),
            verdict: if failing.is_empty() {
                Verdict::Passed
            } else {
                failure_of(report, &failing)
            },
            below,
        });
    }

    // An environment that could not be read must show as an error even if no check run says
    // so; an empty suite would pass.
    if let Some(e) = env.and_then(|n| report.environments.iter().find(|e| e.name == n))
        && e.state == EnvState::Failed
        && !out.iter().any(|c| matches!(c.verdict, Verdict::Errored(_)))
    {
        out.insert(
            0,
            Case {
                name: "read".to_string(),
                verdict: Verdict::Errored(
                    e.error
                        .clone()
                        .unwrap_or_else(|| "the environment could not be read".to_string()),
                ),
                below: Vec::new(),
            },
        );
    }
    out
}

#[derive(Default, Clone, Copy)]
struct Counts {
    tests: usize,
    failures: usize,
    errors: usize,
    skipped: usize,
}

impl Counts {
    fn of(cases: &[Case]) -> Self {
        let mut c = Counts {
            tests: cases.len(),
            ..Counts::default()
        };
        for case in cases {
            match case.verdict {
                Verdict::Failed { .. } => c.failures += 1,
                Verdict::Errored(_) => c.errors += 1,
                Verdict::Skipped(_) => c.skipped += 1,
                Verdict::Passed => {}
            }
        }
        c
    }

    fn add(&mut self, o: Counts) {
        self.tests += o.tests;
        self.failures += o.failures;
        self.errors += o.errors;
        self.skipped += o.skipped;
    }

    fn attrs(&self) -> String {
        format!(
            "tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\"",
            self.tests, self.failures, self.errors, self.skipped
        )
    }
}

fn write_case(out: &mut String, classname: &str, case: &Case) {
    let _ = write!(
        out,
        "    <testcase classname=\"{}\" name=\"{}\"",
        attr(classname),
        attr(&case.name)
    );
    if matches!(case.verdict, Verdict::Passed) && case.below.is_empty() {
        out.push_str("/>\n");
        return;
    }
    out.push_str(">\n");
    match &case.verdict {
        Verdict::Passed => {}
        Verdict::Failed {
            message,
            kind,
            body,
        } => {
            let _ = writeln!(
                out,
                "      <failure message=\"{}\" type=\"{}\">{}</failure>",
                attr(message),
                attr(kind),
                text(body)
            );
        }
        Verdict::Errored(detail) => {
            let _ = writeln!(
                out,
                "      <error message=\"{}\" type=\"errored\">{}</error>",
                attr(detail),
                text(detail)
            );
        }
        Verdict::Skipped(Some(detail)) => {
            let _ = writeln!(out, "      <skipped message=\"{}\"/>", attr(detail));
        }
        Verdict::Skipped(None) => out.push_str("      <skipped/>\n"),
    }
    if !case.below.is_empty() {
        let body = case
            .below
            .iter()
            .map(|f| describe(f))
            .collect::<Vec<_>>()
            .join("\n\n");
        let _ = writeln!(out, "      <system-out>{}</system-out>", text(&body));
    }
    out.push_str("    </testcase>\n");
}

/// `2026-03-02T07:30:00`: the JUnit schema's timestamp has no zone; it is always UTC.
fn timestamp(report_time: jiff::Timestamp) -> String {
    report_time.strftime("%Y-%m-%dT%H:%M:%S").to_string()
}

pub fn report(report: &Report) -> String {
    let stamp = timestamp(report.generated_at);
    let mut total = Counts::default();
    let mut suites = String::new();
    for key in environment_keys(report) {
        let cases = cases(report, key);
        let env = key.and_then(|k| report.environments.iter().find(|e| e.name == k));
        // The standard's suite exists only when something was checked about it.
        if key.is_none() && cases.is_empty() {
            continue;
        }
        let name = key.unwrap_or("standard");
        let classname = format!("maildrift.{name}");
        let counts = Counts::of(&cases);
        total.add(counts);
        let _ = writeln!(
            suites,
            "  <testsuite name=\"{}\" {} timestamp=\"{stamp}\">",
            attr(name),
            counts.attrs()
        );
        let mut props: Vec<(&str, String)> = Vec::new();
        match (key, env) {
            (None, _) => {
                if let Some(s) = &report.standard {
                    props.push(("standard", s.name.clone()));
                    props.push(("baseline", s.path.clone()));
                    props.push(("owner", s.owner.clone()));
                }
            }
            (Some(k), Some(e)) => {
                for (n, v) in [
                    ("url", &e.url),
                    ("release", &e.release),
                    ("plugin_version", &e.plugin_version),
                    ("origin", &e.origin),
                ] {
                    if let Some(v) = v {
                        props.push((n, v.clone()));
                    }
                }
                if let Some(d) = report.dns.iter().find(|d| d.environment == k) {
                    props.push(("dns", d.headline.clone()));
                }
            }
            (Some(_), None) => {}
        }
        if !props.is_empty() {
            suites.push_str("    <properties>\n");
            for (n, v) in props {
                let _ = writeln!(
                    suites,
                    "      <property name=\"{n}\" value=\"{}\"/>",
                    attr(&v)
                );
            }
            suites.push_str("    </properties>\n");
        }
        for case in &cases {
            write_case(&mut suites, &classname, case);
        }
        suites.push_str("  </testsuite>\n");
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"maildrift\" {} timestamp=\"{stamp}\">\n{suites}</testsuites>\n",
        total.attrs()
    )
}

/// A diff as one suite: one failing test case per difference, or one passing case when the two
/// environments are the same. Values are left out of messages for secrets, as everywhere.
pub fn diff(d: &SnapshotDiff) -> String {
    let (l, r) = (&d.left.environment, &d.right.environment);
    let mut cases: Vec<Case> = Vec::new();
    let differ = |name: String, message: String| Case {
        name,
        verdict: Verdict::Failed {
            message,
            kind: "differs".to_string(),
            body: String::new(),
        },
        below: Vec::new(),
    };
    for s in &d.settings {
        let show = |v: &Option<String>, forced: bool| {
            let mut shown = v.clone().unwrap_or_else(|| "(absent)".to_string());
            if forced {
                shown.push_str(" (forced in config.php)");
            }
            shown
        };
        cases.push(differ(
            s.name.clone(),
            format!(
                "{l}: {}\n{r}: {}",
                show(&s.left, s.left_forced),
                show(&s.right, s.right_forced)
            ),
        ));
    }
    let set = |b: bool| if b { "set" } else { "not set" };
    for s in &d.secrets {
        cases.push(differ(
            s.name.clone(),
            format!("{l}: {}\n{r}: {}", set(s.left), set(s.right)),
        ));
    }
    for k in &d.dkim {
        let show = |side: &Option<crate::compare::diff::DkimSide>| match side {
            None => "(none)".to_string(),
            Some(s) => format!("selector {}, key {}", s.selector, s.key),
        };
        cases.push(differ(
            format!("dkim {}", k.domain),
            format!("{l}: {}\n{r}: {}", show(&k.left), show(&k.right)),
        ));
    }
    if cases.is_empty() {
        cases.push(Case {
            name: "same".to_string(),
            verdict: Verdict::Passed,
            below: Vec::new(),
        });
    }
    let counts = Counts::of(&cases);
    let stamp = timestamp(d.right.taken_at.max(d.left.taken_at));
    let name = format!("{l} vs {r}");
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"maildrift diff\" {}>\n  <testsuite name=\"{}\" {} timestamp=\"{stamp}\">\n",
        counts.attrs(),
        attr(&name),
        counts.attrs()
    );
    let classname = format!("maildrift.diff.{l}.{r}");
    for case in &cases {
        write_case(&mut out, &classname, case);
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_escaping_keeps_quotes_new_lines_and_markup_intact() {
        assert_eq!(
            attr("a\"b'<c>&\nd\te\r"),
            "a&quot;b&apos;&lt;c&gt;&amp;&#10;d&#9;e&#13;"
        );
    }

    #[test]
    fn characters_xml_cannot_carry_become_visible_escapes() {
        assert_eq!(
            text("a\u{1b}[0m\u{0}b\u{FFFE}"),
            "a\\u{1b}[0m\\u{0}b\\u{fffe}"
        );
    }
}
