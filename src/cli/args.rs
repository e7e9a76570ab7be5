//! Command-line arguments. Help texts are the user documentation of every flag.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::findings::Severity;
use crate::report::render::Format;

/// Keeps the outgoing mail of Moodle sites honest: compares their mail settings with each
/// other, with a committed baseline (the standard) and with DNS, and reports drift.
///
/// Exit codes: 0 clean, 2 drift (findings at or above --fail-on, or a diff), 1 error.
#[derive(Debug, Parser)]
#[command(
    name = "maildrift",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// Config file listing the environments [default: ./maildrift.toml]
    #[arg(
        short,
        long,
        global = true,
        env = "MAILDRIFT_CONFIG",
        value_name = "FILE"
    )]
    pub config: Option<PathBuf>,
    /// When to use colour in terminal output (never when NO_COLOR is set)
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
    /// Log more to stderr (-v info, -vv debug); RUST_LOG overrides
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Print nothing on stderr but errors (no progress, no warnings)
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check every environment against the baseline, each other and DNS (the drift report and gate)
    Check(CheckArgs),
    /// Read environments' mail settings live; print a summary or write snapshots
    Pull(PullArgs),
    /// Show the mail settings that differ between two environments or snapshot files
    Diff(DiffArgs),
    /// Show cron, task queue, failed mail and bounce figures per environment
    Health(super::health::HealthArgs),
    /// Send a test mail through an environment and keep the evidence
    Testmail(super::testmail::TestmailArgs),
    /// Work with the baseline (the committed standard)
    #[command(subcommand)]
    Baseline(BaselineCommand),
    /// Work with snapshot files
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
    /// Store an environment's web service token in the OS keyring, after checking it
    Login(LoginArgs),
    /// Remove an environment's token from the OS keyring
    Logout(LogoutArgs),
    /// Show, per environment, where its token comes from and whether the site answers
    Doctor(DoctorArgs),
    /// Work with JSON reports (merge the reports of shards)
    #[command(subcommand)]
    Report(ReportCommand),
    /// Explain a finding code (e.g. MD101), or list them all
    Explain(ExplainArgs),
    /// Start in an empty folder: write maildrift.toml and a first baseline proposed from the sites
    Init(super::init::InitArgs),
    /// Write a shell completion script (bash, zsh, fish, powershell, elvish) to stdout
    Completions(super::generate::CompletionsArgs),
    /// Write the man page (roff) of maildrift or of one of its commands to stdout
    Man(super::generate::ManArgs),
    /// Evaluate SPF (RFC 7208) for an address and domain; print the verdict and the trace.
    /// Exit 0 for pass, 2 for any other verdict, 1 when DNS could not be asked (temperror)
    Spf(SpfArgs),
    /// List recorded runs and setting changes from the history store
    History(super::history::HistoryArgs),
    /// Write the standard's living page (Markdown or self-contained HTML) from the history
    Page(super::page::PageArgs),
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Combine the JSON reports of `check --shard I/N` runs into one report, in any format
    Merge(MergeArgs),
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// JSON reports written by `maildrift check --format json`
    #[arg(value_name = "REPORT", required = true)]
    pub reports: Vec<PathBuf>,
    #[command(flatten)]
    pub out: OutputArgs,
    #[command(flatten)]
    pub changes: ChangesArgs,
}

/// Output formats and files, shared by the commands that render a report.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Output format; repeat with -o to write several (table is the default on a terminal, json otherwise)
    #[arg(short, long = "format", value_enum, value_name = "FORMAT")]
    pub formats: Vec<Format>,
    /// Write the preceding --format to FILE (atomically) instead of stdout; repeatable
    #[arg(short, long = "output", value_name = "FILE")]
    pub outputs: Vec<PathBuf>,
    /// Show info findings (passes, notes) in the table too
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Environments to check [default: all in the config]
    #[arg(value_name = "ENV")]
    pub environments: Vec<String>,
    /// The baseline (standard) to check against [default: `baseline` in the config]
    #[arg(short, long, env = "MAILDRIFT_BASELINE", value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Read ENV from a snapshot file instead of pulling it (repeatable; runs offline)
    #[arg(long = "snapshot", value_name = "ENV=FILE")]
    pub snapshots: Vec<String>,
    #[command(flatten)]
    pub out: OutputArgs,
    /// Lowest severity that makes the run exit 2
    #[arg(long, value_enum, default_value_t = FailOn::Error, value_name = "SEVERITY")]
    pub fail_on: FailOn,
    /// Sites read at once [default: 16, or `jobs` in the config]
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Check only shard I of N: a stable subset of the environments (merge with `report merge`)
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Skip the queue and delivery health checks of live environments
    #[arg(long)]
    pub no_health: bool,
    /// Skip the relay probe (local_maildrift_probe_relay) of live environments
    #[arg(long)]
    pub no_relay: bool,
    /// Folder of test-mail evidence records [default: `evidence_dir` in the config, or ./evidence]
    #[arg(long, value_name = "DIR")]
    pub evidence_dir: Option<PathBuf>,
    #[command(flatten)]
    pub changes: ChangesArgs,
    #[command(flatten)]
    pub dns: DnsArgs,
}

/// Comparing a run with the previous one (new, persisting and resolved findings).
#[derive(Debug, Args)]
pub struct ChangesArgs {
    /// Compare with this earlier JSON report: each finding is new or persisting, gone ones are
    /// listed as resolved (for CI without a history store)
    #[arg(long, value_name = "REPORT")]
    pub previous: Option<PathBuf>,
    /// Exit 2 only for new findings at or above --fail-on (persisting ones are still reported);
    /// without a previous run every finding is new
    #[arg(long)]
    pub fail_on_new: bool,
    /// Record the run in this history store (SQLite) and compare with the last run recorded
    /// there [default: `history` in the config; off without either]
    #[arg(long, value_name = "FILE")]
    pub history: Option<PathBuf>,
    /// Delete runs older than this from the history after recording, e.g. 400d, 8w, 2y
    /// [default: `history_keep` in the config; keep everything]
    #[arg(long, value_name = "AGE", value_parser = crate::config::parse_keep)]
    pub keep: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
    Info,
}

impl From<FailOn> for Severity {
    fn from(f: FailOn) -> Severity {
        match f {
            FailOn::Error => Severity::Error,
            FailOn::Warning => Severity::Warning,
            FailOn::Info => Severity::Info,
        }
    }
}

#[derive(Debug, Args)]
pub struct DnsArgs {
    /// Skip the DNS checks (SPF, DKIM, DMARC, MX, PTR)
    #[arg(long)]
    pub no_dns: bool,
    /// Ask this DNS server instead of the system resolver
    #[arg(long, value_name = "IP[:PORT]")]
    pub dns_server: Option<String>,
    /// Answer from this zone file first, live DNS for the rest (repeatable)
    #[arg(long = "zone", value_name = "FILE")]
    pub zones: Vec<PathBuf>,
    /// Answer DNS only from --zone files; ask no server
    #[arg(long)]
    pub offline: bool,
}

#[derive(Debug, Args)]
pub struct PullArgs {
    /// Environments to pull [default: all in the config]
    #[arg(value_name = "ENV")]
    pub environments: Vec<String>,
    /// Write snapshots: into DIR as <env>.json, or to FILE when one environment is pulled
    #[arg(short, long, value_name = "DIR|FILE")]
    pub output: Option<PathBuf>,
    /// Sites read at once [default: 16, or `jobs` in the config]
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Pull only shard I of N: a stable subset of the environments
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Also ask each site to probe its relays; with -o, write their facts to relay/<env>.json there
    #[arg(long)]
    pub relay: bool,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Left side: an environment name or a snapshot file
    #[arg(value_name = "A")]
    pub left: String,
    /// Right side: an environment name or a snapshot file
    #[arg(value_name = "B")]
    pub right: String,
    /// Output format
    #[arg(short, long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Also compare what the two sites' relays offer them (live environments; table or markdown)
    #[arg(long)]
    pub relay: bool,
}

#[derive(Debug, Subcommand)]
pub enum BaselineCommand {
    /// Write live (or snapshot) values of chosen settings into the baseline, keeping its comments
    Accept(AcceptArgs),
}

#[derive(Debug, Args)]
pub struct AcceptArgs {
    /// Settings to accept (repeatable); with --all-mismatches, every setting that differs
    #[arg(
        short,
        long = "setting",
        value_name = "NAME",
        required_unless_present = "all_mismatches"
    )]
    pub settings: Vec<String>,
    /// Accept every setting whose value differs from the baseline
    #[arg(long)]
    pub all_mismatches: bool,
    /// Write per-environment values for these environments; without it, the value is written
    /// for all environments and must be the same in each
    #[arg(short, long = "env", value_name = "ENV")]
    pub environments: Vec<String>,
    /// The baseline file [default: `baseline` in the config]
    #[arg(short, long, env = "MAILDRIFT_BASELINE", value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Read ENV from a snapshot file instead of pulling it (repeatable)
    #[arg(long = "snapshot", value_name = "ENV=FILE")]
    pub snapshots: Vec<String>,
    /// Write without asking
    #[arg(short, long)]
    pub yes: bool,
}

#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    /// Turn the output of `php admin/cli/cfg.php --json` into a snapshot (secrets reduced to set/unset)
    Import(ImportArgs),
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// cfg.php's JSON output, or - for standard input
    #[arg(value_name = "FILE")]
    pub input: PathBuf,
    /// The environment name the snapshot is for
    #[arg(short, long = "env", value_name = "ENV")]
    pub environment: String,
    /// Moodle's wwwroot [default: wwwroot from the input]
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Write the snapshot here (atomically) instead of stdout
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The environment to store a token for
    #[arg(value_name = "ENV")]
    pub environment: String,
}

#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// The environment whose token is removed from the keyring
    #[arg(value_name = "ENV")]
    pub environment: String,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Environments to examine [default: all in the config]
    #[arg(value_name = "ENV")]
    pub environments: Vec<String>,
    /// Only say where tokens come from; contact no site
    #[arg(long)]
    pub offline: bool,
}

#[derive(Debug, Args)]
pub struct SpfArgs {
    /// The sending (client) address, IPv4 or IPv6
    #[arg(value_name = "IP")]
    pub ip: String,
    /// The domain whose SPF record is evaluated (the MAIL FROM domain)
    #[arg(value_name = "DOMAIN")]
    pub domain: String,
    /// The HELO/EHLO name the client gives (for %{h} macros) [default: DOMAIN]
    #[arg(long, value_name = "NAME")]
    pub helo: Option<String>,
    /// The envelope sender (for %{s} and %{l} macros) [default: postmaster@DOMAIN]
    #[arg(long, value_name = "LOCALPART@DOMAIN")]
    pub sender: Option<String>,
    /// Ask this DNS server instead of the system resolver
    #[arg(long, value_name = "IP[:PORT]")]
    pub dns_server: Option<String>,
    /// Answer from this zone file first, live DNS for the rest (repeatable)
    #[arg(long = "zone", value_name = "FILE")]
    pub zones: Vec<PathBuf>,
    /// Answer DNS only from --zone files; ask no server
    #[arg(long)]
    pub offline: bool,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// A finding code such as MD101; without one, list every code
    #[arg(value_name = "CODE")]
    pub code: Option<String>,
}
