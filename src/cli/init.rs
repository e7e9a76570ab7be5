//! `maildrift init [DIR]`: from an empty folder to a configuration and a first baseline.
//!
//! Answers come from flags, or from prompts when stdin is a terminal (never otherwise). The
//! sites are read with the same code as `pull` (or from snapshot files), DNS is surveyed with
//! the same resolver settings as `check`, and the two files are written atomically, never over
//! an existing file without `--force`. Nothing is written when a site can't be read.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::Args;

use super::args::{DnsArgs, Global};
use super::exit;
use super::output::{self, emit, env_file};
use crate::collect::{self, Target};
use crate::config::{DEFAULT_CONFIG_FILE, Environment, valid_env_name};
use crate::dns::{Resolver, ResolverOptions};
use crate::init::{ConfigPlan, EnvironmentPlan, Site};

/// Where the baseline goes unless `--baseline` says otherwise (relative to DIR).
const DEFAULT_BASELINE: &str = "baselines/mail-standard.toml";

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The folder to write maildrift.toml and the baseline into (created if missing)
    #[arg(value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
    /// An environment and its Moodle wwwroot (repeatable), e.g. production=https://moodle.example.edu
    #[arg(short, long = "env", value_name = "NAME=URL")]
    pub environments: Vec<String>,
    /// Read ENV from a snapshot file instead of the live site (repeatable; the config keeps
    /// reading it from there). Its URL comes from the file unless --env gives one
    #[arg(long = "snapshot", value_name = "ENV=FILE")]
    pub snapshots: Vec<String>,
    /// The environment the others are compared with [default: the first production one]
    #[arg(long, value_name = "NAME")]
    pub reference: Option<String>,
    /// Where to write the baseline, relative to DIR
    #[arg(short, long, value_name = "PATH", default_value = DEFAULT_BASELINE)]
    pub baseline: PathBuf,
    /// Ask nothing: take every answer from the flags (prompts are only ever asked on a terminal)
    #[arg(short, long)]
    pub yes: bool,
    /// Replace an existing maildrift.toml or baseline (atomically)
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub dns: DnsArgs,
}

pub async fn run(g: &Global, args: &InitArgs) -> crate::Result<u8> {
    let interactive = !args.yes && std::io::stdin().is_terminal();
    let config_path = args.dir.join(DEFAULT_CONFIG_FILE);
    if let Some(other) = &g.config
        && !g.quiet
    {
        // --config (or MAILDRIFT_CONFIG) names the file other commands read; init writes
        // DIR/maildrift.toml, so a later `check` could read another file than this one.
        eprintln!(
            "maildrift: warning: init writes {}; the config named by --config or MAILDRIFT_CONFIG ({}) is not used, and later commands read it instead of the new file while it is set",
            config_path.display(),
            other.display()
        );
    }
    let baseline_path = args.dir.join(&args.baseline);
    // Refuse before asking anything or reading any site.
    for p in [&config_path, &baseline_path] {
        if p.exists() && !args.force {
            return Err(crate::Error::Usage(format!(
                "{} already exists; init never replaces a file unless given --force",
                p.display()
            )));
        }
    }
    let mut plans = plan_environments(args)?;
    if plans.is_empty() && interactive {
        plans = ask_environments()?;
    }
    if plans.is_empty() {
        return Err(crate::Error::Usage(
            "no environments: give --env NAME=URL (repeatable) or --snapshot ENV=FILE; init asks for them only on a terminal".into(),
        ));
    }

    if let Some(r) = &args.reference
        && !plans.iter().any(|p| &p.env.name == r)
    {
        let names: Vec<&str> = plans.iter().map(|p| p.env.name.as_str()).collect();
        return Err(crate::Error::Usage(format!(
            "--reference {r}: not one of the environments ({})",
            names.join(", ")
        )));
    }
    let mut targets = Vec::new();
    for p in &plans {
        match &p.snapshot {
            Some(path) => targets.push(Target::File {
                name: p.env.name.clone(),
                path: path.clone(),
            }),
            None => {
                if interactive {
                    offer_keyring(&p.env).await?;
                }
                targets.push(Target::Live(p.env.clone()));
            }
        }
    }
    let collected = collect::collect(
        &targets,
        &collect::Options {
            jobs: collect::DEFAULT_JOBS,
            progress: !g.quiet,
        },
    )
    .await;
    let failed: Vec<String> = collected
        .iter()
        .filter_map(|c| c.result.as_ref().err().map(|e| e.to_string()))
        .collect();
    if !failed.is_empty() {
        for e in &failed {
            eprintln!("maildrift: error: {e}");
        }
        // The token advice above names config keys; before init there is no config yet.
        let live = plans.iter().any(|p| p.snapshot.is_none());
        return Err(crate::Error::Usage(format!(
            "init wrote nothing: {} of {} environments could not be read (see above){}",
            failed.len(),
            collected.len(),
            if live {
                "; init reads tokens from MAILDRIFT_TOKEN_<ENV> or the OS keyring (on a terminal it offers to store one there)"
            } else {
                ""
            }
        )));
    }
    // A snapshot-only environment takes its URL from the file.
    for (p, c) in plans.iter_mut().zip(&collected) {
        if p.url.is_none()
            && let Ok(s) = &c.result
        {
            p.url = Some(snapshot_url(&p.env.name, &s.url)?);
        }
    }

    let resolver = if args.dns.no_dns {
        None
    } else {
        Some(resolver(&args.dns)?)
    };
    let mut sites = Vec::new();
    for c in collected.iter().cloned() {
        let Ok(snapshot) = c.result else { continue };
        let survey = match &resolver {
            Some(r) => Some(crate::dns::survey::survey(&snapshot, r).await),
            None => None,
        };
        sites.push(Site {
            name: c.name,
            snapshot,
            survey,
        });
    }
    let now = output::now()?;
    let today = output::today(now);
    let proposal = crate::init::propose_baseline(&sites, args.reference.as_deref(), today)
        .map_err(crate::Error::Usage)?;
    // What is written must load: a proposal the strict parser refuses is a bug, caught here
    // rather than in the team's first `check`.
    let baseline = crate::baseline::Baseline::parse(&proposal.text, &baseline_path)?;

    let config = crate::init::config_text(
        &ConfigPlan {
            baseline: args.baseline.clone(),
            environments: plans
                .iter()
                .map(|p| EnvironmentPlan {
                    name: p.env.name.clone(),
                    url: p.url.clone().unwrap_or_else(|| p.env.url.to_string()),
                    snapshot: p.snapshot.as_ref().map(|s| relative_to(s, &args.dir)),
                })
                .collect(),
            dns_server: args.dns.dns_server.clone(),
            zones: args
                .dns
                .zones
                .iter()
                .map(|z| relative_to(z, &args.dir))
                .collect(),
            offline: args.dns.offline,
        },
        today,
    );
    let parsed_config = crate::config::Config::parse(&config, Some(&config_path))?;
    // The first `check` in advance (without the queue health of live sites): what it will
    // still report are problems of today that no standard decides away.
    let preview = if args.dns.no_dns {
        crate::audit::External::default()
    } else {
        super::dns::run(
            &parsed_config,
            &args.dns,
            Some(&baseline),
            &collected,
            collect::DEFAULT_JOBS,
        )
        .await?
    };
    let report = crate::audit::build(
        &collected,
        Some(&baseline),
        preview,
        &crate::audit::Options {
            fail_on: crate::findings::Severity::Error,
            now,
            today,
        },
    );

    if interactive
        && !confirm(&format!(
            "Write {} and {}? [Y/n] ",
            config_path.display(),
            baseline_path.display()
        ))?
    {
        emit("Nothing written.\n", None)?;
        return Ok(exit::CLEAN);
    }
    write_new(&baseline_path, &proposal.text, args.force)?;
    write_new(&config_path, &config, args.force)?;

    let mut text = format!(
        "wrote {}\nwrote {}\n",
        config_path.display(),
        baseline_path.display()
    );
    if !proposal.undecided.is_empty() {
        text.push_str("\nLeft for the team to decide (marked in the baseline's comments):\n");
        for u in &proposal.undecided {
            text.push_str(&format!("  - {}\n", crate::init::one_line(u)));
        }
    }
    let problems: Vec<String> = report
        .findings
        .iter()
        .filter(|f| f.severity == crate::findings::Severity::Error)
        .map(|f| {
            format!(
                "  - {}{} {}\n",
                f.environment
                    .as_deref()
                    .map(|e| format!("{e}: "))
                    .unwrap_or_default(),
                f.code,
                crate::init::one_line(&f.message)
            )
        })
        .collect();
    if !problems.is_empty() {
        text.push_str(
            "\nWhat the first check will report as errors (problems of today that the standard can't decide away: fix them, or record a dated exception in the baseline):\n",
        );
        for p in &problems {
            text.push_str(p);
        }
    }
    let cd = if args.dir == Path::new(".") {
        String::new()
    } else {
        format!("cd {} && ", args.dir.display())
    };
    text.push_str(&format!(
        "\nNext: review the baseline, then run `{cd}maildrift check` and commit both files.\n"
    ));
    emit(&text, None)?;
    Ok(exit::CLEAN)
}

/// One environment as the flags give it.
struct Plan {
    env: Environment,
    /// The URL as given (or from the snapshot); `None` until known.
    url: Option<String>,
    snapshot: Option<PathBuf>,
}

fn plan_environments(args: &InitArgs) -> crate::Result<Vec<Plan>> {
    let mut plans: Vec<Plan> = Vec::new();
    for arg in &args.environments {
        let (name, url) = arg.split_once('=').ok_or_else(|| {
            crate::Error::Usage(format!(
                "--env {arg}: give NAME=URL, e.g. production=https://moodle.example.edu"
            ))
        })?;
        let env = environment(name.trim(), url.trim(), "--env")?;
        if plans.iter().any(|p| p.env.name == env.name) {
            return Err(crate::Error::Usage(format!(
                "--env names environment `{}` twice",
                env.name
            )));
        }
        plans.push(Plan {
            url: Some(url.trim().to_string()),
            env,
            snapshot: None,
        });
    }
    for arg in &args.snapshots {
        let (name, path) = env_file(arg)?;
        match plans.iter_mut().find(|p| p.env.name == name) {
            Some(p) if p.snapshot.is_some() => {
                return Err(crate::Error::Usage(format!(
                    "--snapshot names environment `{name}` twice"
                )));
            }
            Some(p) => p.snapshot = Some(path),
            None => {
                if !valid_env_name(&name) {
                    return Err(bad_name("--snapshot", &name));
                }
                // The URL is read from the snapshot once it is loaded.
                let placeholder = url::Url::parse("https://snapshot.invalid")
                    .map_err(|e| crate::Error::Usage(format!("internal error: {e}")))?;
                plans.push(Plan {
                    env: Environment::new(&name, placeholder),
                    url: None,
                    snapshot: Some(path),
                });
            }
        }
    }
    Ok(plans)
}

fn bad_name(flag: &str, name: &str) -> crate::Error {
    crate::Error::Usage(format!(
        "{flag}: `{name}` is not an environment name: use letters, digits, '-' and '_' (at most 64)"
    ))
}

/// An environment checked the way the config parser checks it.
fn environment(name: &str, url: &str, flag: &str) -> crate::Result<Environment> {
    if !valid_env_name(name) {
        return Err(bad_name(flag, name));
    }
    let parsed = url::Url::parse(url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .ok_or_else(|| {
            crate::Error::Usage(format!(
                "{flag} {name}={url}: give Moodle's wwwroot as an http(s) address, e.g. https://moodle.example.edu"
            ))
        })?;
    Ok(Environment::new(name, parsed))
}

/// The wwwroot stored in a snapshot, checked like a URL given on the command line.
fn snapshot_url(name: &str, url: &str) -> crate::Result<String> {
    environment(name, url.trim(), "the snapshot's url:")
        .map(|_| url.trim().to_string())
        .map_err(|_| {
            crate::Error::Usage(format!(
                "the snapshot for {name} has no usable url ({url:?}); give it with --env {name}=URL"
            ))
        })
}

/// `path` as the config file in `dir` should name it: relative when it lies inside `dir`.
fn relative_to(path: &Path, dir: &Path) -> PathBuf {
    let abs = |p: &Path| {
        std::path::absolute(p)
            .map(|a| normalise_dots(&a))
            .unwrap_or_else(|_| p.to_path_buf())
    };
    let (p, d) = (abs(path), abs(dir));
    p.strip_prefix(&d).map(Path::to_path_buf).unwrap_or(p)
}

/// Drops `.` components (std::path::absolute keeps `a/./b`).
fn normalise_dots(p: &Path) -> PathBuf {
    p.components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect()
}

fn resolver(dns: &DnsArgs) -> crate::Result<Resolver> {
    let server = match &dns.dns_server {
        Some(s) => Some(
            crate::config::parse_dns_server(s)
                .map_err(|e| crate::Error::Usage(format!("--dns-server: {e}")))?,
        ),
        None => None,
    };
    if dns.offline && dns.zones.is_empty() {
        return Err(crate::Error::Usage(
            "--offline answers DNS only from zone files: give at least one --zone FILE (or use --no-dns)".into(),
        ));
    }
    Ok(Resolver::new(ResolverOptions {
        server,
        zones: dns.zones.clone(),
        offline: dns.offline,
        ..ResolverOptions::default()
    })?)
}

/// Writes `text` to `path` through the shared safe writers (atomic, umask-respecting). Without
/// `force` an existing file is never replaced, not even one created meanwhile.
fn write_new(path: &Path, text: &str, force: bool) -> crate::Result<()> {
    let err = |source: std::io::Error| crate::Error::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    if force {
        return crate::output::atomic_write(path, text.as_bytes()).map_err(err);
    }
    crate::output::write_new(path, text.as_bytes()).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            crate::Error::Usage(format!(
                "{} already exists; init never replaces a file unless given --force",
                path.display()
            ))
        } else {
            err(e)
        }
    })
}

fn prompt(question: &str) -> crate::Result<String> {
    let mut err = std::io::stderr();
    let _ = write!(err, "{question}");
    let _ = err.flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| crate::Error::Usage(format!("cannot read the answer: {e}")))?;
    Ok(line.trim().to_string())
}

fn confirm(question: &str) -> crate::Result<bool> {
    let a = prompt(question)?.to_ascii_lowercase();
    Ok(a.is_empty() || a == "y" || a == "yes")
}

fn ask_environments() -> crate::Result<Vec<Plan>> {
    eprintln!(
        "Name each Moodle environment (e.g. production, staging) and its wwwroot; an empty name ends the list."
    );
    let mut plans: Vec<Plan> = Vec::new();
    loop {
        let name = prompt("Environment name: ")?;
        if name.is_empty() {
            return Ok(plans);
        }
        if !valid_env_name(&name) || plans.iter().any(|p| p.env.name == name) {
            eprintln!("  use letters, digits, '-' and '_', and a name not given yet");
            continue;
        }
        let url = prompt(&format!("URL of {name} (Moodle's wwwroot): "))?;
        match environment(&name, &url, "url") {
            Ok(env) => plans.push(Plan {
                env,
                url: Some(url),
                snapshot: None,
            }),
            Err(e) => eprintln!("  {e}"),
        }
    }
}

/// On a terminal, when no token is found for a live environment, offers to store one in the
/// OS keyring (checked against the site first, as `maildrift login` does).
async fn offer_keyring(env: &Environment) -> crate::Result<()> {
    let env2 = env.clone();
    let found = tokio::task::spawn_blocking(move || crate::token::resolve(&env2))
        .await
        .map_err(|e| crate::Error::Usage(format!("internal error: {e}")))?;
    if found.is_ok() {
        return Ok(());
    }
    if env.url.scheme() != "https" {
        // Keyring tokens only ever go to https sites (README, Security), so storing one for
        // this site would be useless; the read below then fails with the token advice.
        eprintln!(
            "No token found for {} (looked in {}). The OS keyring only serves https sites, and {} is plain http: set {} or token_file for it.",
            env.name, env.token_env, env.url, env.token_env
        );
        return Ok(());
    }
    eprintln!(
        "No token found for {} (looked in {} and the OS keyring).",
        env.name, env.token_env
    );
    let question = format!(
        "Paste the web service token of {} ({}) to store it in the OS keyring, or press Enter to stop: ",
        env.name, env.url
    );
    let token = tokio::task::spawn_blocking(move || crate::token::read_token_from_user(&question))
        .await
        .map_err(|e| crate::Error::Usage(format!("internal error: {e}")))??;
    let client = crate::moodle::Client::new(env)?;
    client.check_access(&token).await?;
    let (env2, token2) = (env.clone(), token.clone());
    tokio::task::spawn_blocking(move || crate::token::store(&env2, &token2))
        .await
        .map_err(|e| crate::Error::Usage(format!("internal error: {e}")))??;
    eprintln!("Stored the token for {} in the OS keyring.", env.name);
    Ok(())
}
