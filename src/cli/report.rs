//! `maildrift report merge`.

use super::args::{Global, MergeArgs};
use super::check::{outcome_code, plan_outputs, write_report};
use crate::report::merge;

pub fn merge(g: &Global, args: &MergeArgs) -> crate::Result<u8> {
    let outputs = plan_outputs(&args.out, &["report", "merge"])?;
    let mut reports = Vec::with_capacity(args.reports.len());
    for path in &args.reports {
        reports.push((path.clone(), merge::read(path)?));
    }
    let merged = merge::merge(reports)?;
    write_report(g, &merged, &outputs, args.out.all)?;
    Ok(outcome_code(&merged))
}
