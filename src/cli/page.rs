//! `maildrift page`: the standard's living page from the baseline and the run history.

use std::path::PathBuf;

use clap::Args;

use super::args::Global;
use super::exit;
use crate::baseline::Baseline;
use crate::history::{Month, Store};

#[derive(Debug, Args)]
pub struct PageArgs {
    /// The month under review [default: the current month, UTC]
    #[arg(long, value_name = "YYYY-MM", value_parser = clap::value_parser!(MonthArg))]
    pub month: Option<MonthArg>,
    /// Write the page here: .md for Markdown, .html for one self-contained HTML file
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// The history store [default: `history` in the config]
    #[arg(long, value_name = "FILE")]
    pub history: Option<PathBuf>,
    /// Limit the page to this environment: its scope, rules, exceptions, charts and figures
    /// (repeat for several) [default: the whole fleet]
    #[arg(short = 'e', long = "environment", value_name = "NAME")]
    pub environments: Vec<String>,
    /// The baseline (standard) [default: `baseline` in the config]
    #[arg(short, long, env = "MAILDRIFT_BASELINE", value_name = "FILE")]
    pub baseline: Option<PathBuf>,
}

/// `--month`, parsed by [`Month`]'s `FromStr`.
#[derive(Debug, Clone, Copy)]
pub struct MonthArg(pub Month);

impl std::str::FromStr for MonthArg {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse().map(MonthArg)
    }
}

pub fn run(g: &Global, args: &PageArgs) -> crate::Result<u8> {
    let ext = args
        .output
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let html = match ext.as_deref() {
        Some("html" | "htm") => true,
        Some("md" | "markdown") => false,
        _ => {
            return Err(crate::Error::Usage(format!(
                "-o {}: give a .md or .html file",
                args.output.display()
            )));
        }
    };
    let config = super::output::load_config_optional(g)?;
    let Some(history) = args.history.clone().or_else(|| config.history.clone()) else {
        return Err(crate::Error::Usage(
            "no history store: pass --history FILE or set `history = \"path\"` in the config"
                .into(),
        ));
    };
    if !history.exists() {
        return Err(crate::Error::Usage(format!(
            "no history store at {}: record runs with `maildrift check --history {}` first",
            history.display(),
            history.display()
        )));
    }
    let Some(baseline) = args.baseline.clone().or_else(|| config.baseline.clone()) else {
        return Err(crate::Error::Usage(
            "no baseline: the page describes the standard; pass --baseline FILE or set `baseline` in the config".into(),
        ));
    };
    let baseline = Baseline::load(&baseline)?;
    let store = Store::open(&history)?;
    let now = super::output::now()?;
    let month = args.month.map_or_else(|| Month::of(now), |m| m.0);
    let page = crate::page::gather(&baseline, &store, month, now, &args.environments)?;
    let text = if html {
        crate::page::html::render(&page)
    } else {
        crate::page::markdown::render(&page)
    };
    super::output::emit(&text, Some(&args.output))?;
    Ok(exit::CLEAN)
}
