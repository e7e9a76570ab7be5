//! `maildrift report merge`.

use super::args::{Global, MergeArgs};
use super::check::{compare, outcome_code, plan_outputs, read_previous, write_report};
use crate::report::merge;

pub fn merge(g: &Global, args: &MergeArgs) -> crate::Result<u8> {
    let outputs = plan_outputs(&args.out, &["report", "merge"])?;
    let prior = read_previous(&args.changes)?;
    let config = super::output::load_config_optional(g)?;
    let mut reports = Vec::with_capacity(args.reports.len());
    for path in &args.reports {
        reports.push((path.clone(), merge::read(path)?));
    }
    let mut merged = merge::merge(reports)?;
    // With --previous or a history, the merged fleet is compared afresh, replacing the
    // shards' states.
    let mut history = super::history::Recorder::open(&args.changes, &config);
    let prior = match prior {
        Some(p) => Some(p),
        None => history.prior(&merged),
    };
    if history.enabled() {
        crate::report::changes::apply(&mut merged, prior.as_ref(), args.changes.fail_on_new);
    } else {
        compare(&mut merged, prior.as_ref(), &args.changes);
    }
    write_report(g, &merged, &outputs, args.out.all)?;
    let now = super::output::now()?;
    let recorded = history.record(crate::history::RunKind::Merge, &merged, Vec::new(), now);
    Ok(recorded.unwrap_or(outcome_code(&merged)))
}
