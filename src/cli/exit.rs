//! The one place where a failure becomes a message on stderr and an exit code.
//!
//! Exit codes: 0 clean, 2 drift (or a diff), 1 the run itself failed. Every error message
//! already names the file, site or setting and what to do (see each module's error enum), so
//! this only prefixes it.

use std::process::ExitCode;

pub const CLEAN: u8 = 0;
pub const ERROR: u8 = 1;
pub const DRIFT: u8 = 2;

/// Prints `err` and returns exit code 1.
pub fn report(err: &crate::Error) -> ExitCode {
    eprintln!("maildrift: error: {err}");
    ExitCode::from(ERROR)
}
