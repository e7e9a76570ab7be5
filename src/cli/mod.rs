//! The command line: argument parsing, dispatch, and the one place errors become exit codes.

/// Runs maildrift with the process arguments and returns the exit code.
pub fn run() -> std::process::ExitCode {
    std::process::ExitCode::SUCCESS
}
