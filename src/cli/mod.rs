//! The command line: argument parsing, dispatch, and the one place errors become exit codes.

mod args;
mod auth;
mod baseline;
mod check;
mod diff;
mod dns;
mod exit;
mod explain;
mod generate;
mod health;
mod history;
mod init;
mod output;
mod page;
mod pull;
mod report;
mod snapshot;
mod spf;
mod testmail;

use std::process::ExitCode;

use clap::Parser;

pub use args::{Cli, Command};

/// Runs maildrift with the process arguments and returns the exit code.
pub fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help/version itself; usage errors exit 1 like every other error.
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    ExitCode::SUCCESS
                }
                _ => ExitCode::from(exit::ERROR),
            };
        }
    };
    output::init_logging(cli.global.verbose, cli.global.quiet);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            return exit::report(&crate::Error::Usage(format!(
                "cannot start the async runtime: {e}"
            )));
        }
    };
    let result = runtime.block_on(dispatch(cli));
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => exit::report(&e),
    }
}

async fn dispatch(cli: Cli) -> crate::Result<u8> {
    let g = &cli.global;
    match &cli.command {
        Command::Check(a) => check::run(g, a).await,
        Command::Pull(a) => pull::run(g, a).await,
        Command::Diff(a) => diff::run(g, a).await,
        Command::Baseline(args::BaselineCommand::Accept(a)) => baseline::accept(g, a).await,
        Command::Snapshot(args::SnapshotCommand::Import(a)) => snapshot::import(g, a),
        Command::Login(a) => auth::login(g, a).await,
        Command::Logout(a) => auth::logout(g, a),
        Command::Doctor(a) => auth::doctor(g, a).await,
        Command::Report(args::ReportCommand::Merge(a)) => report::merge(g, a),
        Command::Explain(a) => explain::run(a),
        Command::Spf(a) => spf::run(g, a).await,
        Command::Health(a) => health::run(g, a).await,
        Command::Testmail(a) => testmail::run(g, a).await,
        Command::Init(a) => init::run(g, a).await,
        Command::Completions(a) => generate::completions(a),
        Command::Man(a) => generate::man(a),
        Command::History(a) => history::run(g, a),
        Command::Page(a) => page::run(g, a),
    }
}
