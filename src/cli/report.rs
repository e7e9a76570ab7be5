//! `maildrift report merge`.

use super::args::{Global, MergeArgs};
use super::check::{compare, outcome_code, plan_outputs, read_previous, write_report};
use crate::report::merge;

pub fn merge(g: &Global, args: &MergeArgs) -> crate::Result<u8> {
    let outputs = plan_outputs(&args.out, &["report", "merge"])?;
    let prior = read_previous(&args.changes)?;
    let mut reports = Vec::with_capacity(args.reports.len());
    for path in &args.reports {
        reports.push((path.clone(), merge::read(path)?));
    }
    let mut merged = merge::merge(reports)?;
    // With --previous, the merged fleet is compared afresh, replacing the shards' states.
    compare(&mut merged, prior.as_ref(), &args.changes);
    write_report(g, &merged, &outputs, args.out.all)?;
    Ok(outcome_code(&merged))
}
