//! `maildrift check`: the drift report and release gate.

use std::path::PathBuf;

use super::args::{CheckArgs, Global, OutputArgs};
use super::exit;
use super::output::{self, default_format, emit, env_file, format_for_path};
use crate::audit::{self, External};
use crate::baseline::Baseline;
use crate::collect::{self, Target};
use crate::config::Config;
use crate::report::render::{self, Format};

pub async fn run(g: &Global, args: &CheckArgs) -> crate::Result<u8> {
    let outputs = plan_outputs(&args.out, &["check"])?;
    // Read before the sites are asked: a bad file must not cost a whole run.
    let prior = read_previous(&args.changes)?;
    let config = if args.snapshots.is_empty() {
        output::load_config(g)?
    } else {
        output::load_config_optional(g)?
    };
    let mut targets = targets(&config, &args.snapshots, &args.environments)?;
    let fleet = targets.clone();
    let shard = match &args.shard {
        Some(shard) => {
            let (i, n) = crate::report::merge::parse_shard(shard).map_err(crate::Error::Usage)?;
            targets.retain(|t| crate::report::merge::in_shard(t.name(), i, n));
            true
        }
        None => false,
    };
    let baseline_path = args.baseline.clone().or_else(|| config.baseline.clone());
    let baseline = match &baseline_path {
        Some(p) => Some(Baseline::load(p)?),
        None => None,
    };
    // Drift compares every environment with one reference, which may belong to another shard:
    // a shard reads it too, only to compare with (its own shard reports on it).
    let outside_reference: Option<Target> = if shard {
        let names: Vec<&str> = fleet.iter().map(Target::name).collect();
        crate::checks::drift::reference_name(&names, baseline.as_ref())
            .filter(|r| !targets.iter().any(|t| t.name() == *r))
            .and_then(|r| fleet.iter().find(|t| t.name() == r).cloned())
    } else {
        None
    };
    if baseline.is_none() && !g.quiet {
        eprintln!(
            "maildrift: warning: no baseline given (--baseline or `baseline` in the config): only drift between environments, sender rules and DNS are checked"
        );
    }
    let now = output::now()?;
    let jobs = args.jobs.or(config.jobs).unwrap_or(collect::DEFAULT_JOBS);
    let collected = collect::collect(
        &targets,
        &collect::Options {
            jobs,
            progress: !g.quiet,
        },
    )
    .await;
    // The report may go to a file only; the terminal (a CI log) must still say why the run fails.
    for c in &collected {
        if let Err(e) = &c.result {
            eprintln!("maildrift: error: {e}");
        }
    }
    let mut external = if args.dns.no_dns {
        External::default()
    } else {
        super::dns::run(&config, &args.dns, baseline.as_ref(), &collected, jobs).await?
    };
    // A site that could not be read is already reported; asking it again would only
    // double the time a dead site costs.
    let readable: Vec<Target> = targets
        .iter()
        .filter(|t| {
            collected
                .iter()
                .any(|c| c.name == t.name() && c.result.is_ok())
        })
        .cloned()
        .collect();
    if !args.no_health {
        let evidence_dir = crate::evidence::resolve_dir(args.evidence_dir.as_deref(), &config);
        crate::health::health_external(&readable, baseline.as_ref(), &evidence_dir, jobs, now)
            .await?
            .merge_into(&mut external);
    }
    if !args.no_relay {
        crate::relay::relay_external(&readable, baseline.as_ref(), jobs, now)
            .await?
            .merge_into(&mut external);
    }
    let opts = audit::Options {
        fail_on: args.fail_on.into(),
        now,
        today: output::today(now),
    };
    // A reference that cannot be read is reported by its own shard; this one then compares
    // among its own environments.
    let reference = match &outside_reference {
        Some(t) => collect::collect(
            std::slice::from_ref(t),
            &collect::Options {
                jobs: 1,
                progress: false,
            },
        )
        .await
        .into_iter()
        .find_map(|c| c.result.ok()),
        None => None,
    };
    let scope = shard.then_some(crate::checks::ShardScope {
        reference: reference.as_ref(),
        size: fleet.len(),
    });
    let mut report = audit::build_shard(&collected, scope, baseline.as_ref(), external, &opts);
    let mut history = super::history::Recorder::open(&args.changes, &config);
    let prior = match prior {
        Some(p) => Some(p),
        None => history.prior(&report),
    };
    let settings = super::history::settings_of(&collected);
    if history.enabled() {
        crate::report::changes::apply(&mut report, prior.as_ref(), args.changes.fail_on_new);
        let latest = history.latest_changes(&settings, now);
        if let Some(c) = report.changes.as_mut() {
            c.latest_changes = latest;
        }
    } else {
        compare(&mut report, prior.as_ref(), &args.changes);
    }
    // Like a site that could not be read, a check that could not run (DNS not answering)
    // fails the run; the terminal must say why even when the report goes to a file only.
    for c in report
        .checks
        .iter()
        .filter(|c| c.state == crate::report::model::CheckState::Errored)
    {
        let env = c
            .environment
            .as_deref()
            .map(|e| format!("{e}: "))
            .unwrap_or_default();
        let detail = c.detail.as_deref().unwrap_or("no detail");
        eprintln!(
            "maildrift: error: {env}the {} check could not run: {detail}",
            c.check
        );
    }
    write_report(g, &report, &outputs, args.out.all)?;
    let recorded = history.record(crate::history::RunKind::Check, &report, settings, now);
    Ok(recorded.unwrap_or(outcome_code(&report)))
}

/// The `--previous` report as the run to compare with.
pub fn read_previous(
    args: &super::args::ChangesArgs,
) -> crate::Result<Option<crate::report::changes::Prior>> {
    let Some(path) = &args.previous else {
        return Ok(None);
    };
    let previous = crate::report::merge::read(path)?;
    Ok(Some(crate::report::changes::Prior::from_report(
        "report",
        &path.display().to_string(),
        &previous,
    )))
}

/// Marks findings new, persisting or resolved when there is something to compare with or
/// `--fail-on-new` asks for it; otherwise the report carries no states.
pub fn compare(
    report: &mut crate::report::Report,
    prior: Option<&crate::report::changes::Prior>,
    args: &super::args::ChangesArgs,
) {
    if prior.is_some() || args.fail_on_new {
        crate::report::changes::apply(report, prior, args.fail_on_new);
    }
}

/// Renders `report` in every planned format; files get no colour and no width limit. `all`
/// (`--all`) puts info findings in tables too, on stdout and in files alike.
pub fn write_report(
    g: &Global,
    report: &crate::report::Report,
    outputs: &[(Format, Option<PathBuf>)],
    all: bool,
) -> crate::Result<()> {
    let style = render::Style {
        all,
        ..output::stdout_style(g)
    };
    for (format, path) in outputs {
        let style = if path.is_some() {
            render::Style {
                all,
                ..Default::default()
            }
        } else {
            style
        };
        emit(&render::report(report, *format, &style), path.as_deref())?;
    }
    Ok(())
}

/// The exit code for a report: 0 clean, 2 drift, 1 failed.
pub fn outcome_code(report: &crate::report::Report) -> u8 {
    match report.outcome() {
        crate::report::Outcome::Clean => exit::CLEAN,
        crate::report::Outcome::Drift => exit::DRIFT,
        crate::report::Outcome::Failed => exit::ERROR,
    }
}

/// What to read: `--snapshot` files when given (offline), else the configured environments
/// (each from its `snapshot` file when it has one, live otherwise).
pub fn targets(
    config: &Config,
    snapshots: &[String],
    names: &[String],
) -> crate::Result<Vec<Target>> {
    if !snapshots.is_empty() {
        let mut out = Vec::new();
        for arg in snapshots {
            let (name, path) = env_file(arg)?;
            if out.iter().any(|t: &Target| t.name() == name) {
                return Err(crate::Error::Usage(format!(
                    "--snapshot names environment `{name}` twice"
                )));
            }
            out.push(Target::File { name, path });
        }
        if !names.is_empty() {
            // A misspelt name must not narrow the run to nothing and pass the gate.
            if let Some(unknown) = names
                .iter()
                .find(|n| !out.iter().any(|t| t.name() == n.as_str()))
            {
                let given: Vec<&str> = out.iter().map(Target::name).collect();
                return Err(crate::Error::Usage(format!(
                    "unknown environment `{unknown}`: the --snapshot options give {}",
                    given.join(", ")
                )));
            }
            out.retain(|t| names.iter().any(|n| n == t.name()));
        }
        return Ok(out);
    }
    let envs = config.select(names)?;
    if envs.is_empty() {
        return Err(crate::Error::Usage(format!(
            "no environments to check: add [environments.NAME] to {} or pass --snapshot ENV=FILE",
            config
                .path
                .as_ref()
                .map_or("the config".into(), |p| p.display().to_string())
        )));
    }
    Ok(envs
        .into_iter()
        .map(|e| match &e.snapshot {
            Some(path) => Target::File {
                name: e.name.clone(),
                path: path.clone(),
            },
            None => Target::Live(e.clone()),
        })
        .collect())
}

/// Pairs each `-o FILE` with the `--format` given before it; a format with no file goes to
/// stdout (at most one may), a file with no format gets one from its extension.
pub fn plan_outputs(
    args: &OutputArgs,
    subcommand: &[&str],
) -> crate::Result<Vec<(Format, Option<PathBuf>)>> {
    if args.outputs.is_empty() {
        return match args.formats.as_slice() {
            [] => Ok(vec![(default_format(), None)]),
            [f] => Ok(vec![(*f, None)]),
            _ => Err(crate::Error::Usage(
                "several --format values but no -o FILE: give each extra format its own -o FILE"
                    .into(),
            )),
        };
    }
    // clap's derive API drops argument positions, so read them from the raw matches.
    let matches = <super::Cli as clap::CommandFactory>::command()
        .try_get_matches_from(std::env::args_os())
        .ok();
    let sub = subcommand
        .iter()
        .try_fold(matches.as_ref(), |m, name| {
            m.map(|m| m.subcommand_matches(name))
        })
        .flatten();
    let positions = |id: &str| -> Vec<usize> {
        sub.and_then(|m| m.indices_of(id))
            .map(|i| i.collect())
            .unwrap_or_default()
    };
    let (fpos, opos) = (positions("formats"), positions("outputs"));
    let formats: Vec<(usize, Format)> = if fpos.len() == args.formats.len() {
        fpos.into_iter().zip(args.formats.iter().copied()).collect()
    } else {
        args.formats.iter().copied().enumerate().collect()
    };
    let outputs: Vec<(usize, PathBuf)> = if opos.len() == args.outputs.len() {
        opos.into_iter().zip(args.outputs.iter().cloned()).collect()
    } else {
        args.outputs.iter().cloned().enumerate().collect()
    };
    pair(&formats, &outputs)
}

fn pair(
    formats: &[(usize, Format)],
    outputs: &[(usize, PathBuf)],
) -> crate::Result<Vec<(Format, Option<PathBuf>)>> {
    let mut used = vec![false; formats.len()];
    let mut plan = Vec::new();
    for (opos, path) in outputs {
        // The nearest --format before this -o that no other -o took.
        let claimed = formats
            .iter()
            .enumerate()
            .rev()
            .find(|(i, (fpos, _))| fpos < opos && !used[*i]);
        let format = match claimed {
            Some((i, (_, f))) => {
                used[i] = true;
                *f
            }
            None => format_for_path(path).ok_or_else(|| {
                crate::Error::Usage(format!(
                    "-o {}: no --format before it and no known extension (.json, .md, .xml, .txt)",
                    path.display()
                ))
            })?,
        };
        plan.push((format, Some(path.clone())));
    }
    let to_stdout: Vec<Format> = formats
        .iter()
        .enumerate()
        .filter(|(i, _)| !used[*i])
        .map(|(_, (_, f))| *f)
        .collect();
    match to_stdout.as_slice() {
        [] => {}
        [f] => plan.push((*f, None)),
        _ => {
            return Err(crate::Error::Usage(
                "more than one --format would go to stdout: give each extra format its own -o FILE"
                    .into(),
            ));
        }
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_output_takes_the_format_before_it_and_the_rest_goes_to_stdout() {
        let plan = pair(
            &[(1, Format::Json), (5, Format::Table), (3, Format::Junit)],
            &[(2, PathBuf::from("r.json")), (4, PathBuf::from("r.xml"))],
        )
        .unwrap();
        assert_eq!(
            plan,
            vec![
                (Format::Json, Some(PathBuf::from("r.json"))),
                (Format::Junit, Some(PathBuf::from("r.xml"))),
                (Format::Table, None)
            ]
        );
    }

    #[test]
    fn output_without_format_uses_its_extension() {
        let plan = pair(&[], &[(1, PathBuf::from("summary.md"))]).unwrap();
        assert_eq!(
            plan,
            vec![(Format::Markdown, Some(PathBuf::from("summary.md")))]
        );
        assert!(pair(&[], &[(1, PathBuf::from("summary.bin"))]).is_err());
    }

    #[test]
    fn two_formats_for_stdout_are_refused() {
        assert!(pair(&[(1, Format::Json), (2, Format::Table)], &[]).is_err());
    }
}
