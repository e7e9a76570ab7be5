//! Terminal and file output shared by the commands: colour and width decisions, logging,
//! writing rendered text to stdout or atomically to files, and config loading.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use super::args::{ColorChoice, Global};
use crate::config::{Config, ConfigError};
use crate::report::render::{Format, Style};

/// Sets up logging on stderr: warnings by default, more with -v, errors only with -q;
/// `RUST_LOG` overrides. Nothing logged ever contains a token (the client never logs one).
pub fn init_logging(verbose: u8, quiet: bool) {
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "maildrift=info",
        (false, _) => "maildrift=debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Colour only on a terminal: a cron job's log file must not fill with escape codes.
    let ansi = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .try_init();
}

/// The style for text going to stdout: colour only on a terminal and never with NO_COLOR;
/// the terminal's width when there is one. Shows the table's usual findings (`all: false`);
/// commands with `--all` set that themselves.
pub fn stdout_style(g: &Global) -> Style {
    let tty = std::io::stdout().is_terminal();
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let color = match g.color {
        ColorChoice::Never => false,
        ColorChoice::Always => !no_color,
        ColorChoice::Auto => tty && !no_color,
    };
    let width = if tty {
        terminal_width().or(Some(100))
    } else {
        std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok())
    };
    Style {
        color,
        width,
        all: false,
    }
}

fn terminal_width() -> Option<u16> {
    // comfy-table knows how to ask the terminal; a throwaway table is the cheapest way in.
    comfy_table::Table::new().width()
}

/// The default report format: a table for a person at a terminal, JSON for a program.
pub fn default_format() -> Format {
    if std::io::stdout().is_terminal() {
        Format::Table
    } else {
        Format::Json
    }
}

/// Guesses a format from an output file's extension.
pub fn format_for_path(path: &Path) -> Option<Format> {
    match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
        "json" => Some(Format::Json),
        "md" | "markdown" => Some(Format::Markdown),
        "xml" | "junit" => Some(Format::Junit),
        "txt" | "text" => Some(Format::Table),
        "prom" | "metrics" => Some(Format::Openmetrics),
        _ => None,
    }
}

/// Writes `text` to stdout, or atomically to `path`.
pub fn emit(text: &str, path: Option<&Path>) -> crate::Result<()> {
    match path {
        None => {
            let mut out = std::io::stdout().lock();
            // A closed pipe (`| head`) is not an error worth reporting.
            match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(crate::Error::Write {
                    path: PathBuf::from("<stdout>"),
                    source: e,
                }),
                _ => Ok(()),
            }
        }
        Some(p) => {
            crate::output::atomic_write(p, text.as_bytes()).map_err(|source| crate::Error::Write {
                path: p.to_path_buf(),
                source,
            })
        }
    }
}

/// Loads the config file; an error when none can be found.
pub fn load_config(g: &Global) -> crate::Result<Config> {
    match Config::locate(g.config.as_deref()) {
        Some(path) => Ok(Config::load(&path)?),
        None => Err(ConfigError::NotFound.into()),
    }
}

/// Loads the config file when there is one; an empty config otherwise.
pub fn load_config_optional(g: &Global) -> crate::Result<Config> {
    match Config::locate(g.config.as_deref()) {
        Some(path) => Ok(Config::load(&path)?),
        None => Ok(Config::empty()),
    }
}

/// Splits an `ENV=FILE` argument.
pub fn env_file(arg: &str) -> crate::Result<(String, PathBuf)> {
    match arg.split_once('=') {
        Some((env, file)) if crate::config::valid_env_name(env) && !file.is_empty() => {
            Ok((env.to_string(), PathBuf::from(file)))
        }
        _ => Err(crate::Error::Usage(format!(
            "--snapshot {arg:?}: expected ENV=FILE, e.g. --snapshot production=snapshots/production.json"
        ))),
    }
}

/// The current time: `MAILDRIFT_NOW` (RFC 3339) when set, so reports and tests can be
/// reproduced; the clock otherwise.
pub fn now() -> crate::Result<jiff::Timestamp> {
    match std::env::var("MAILDRIFT_NOW") {
        Ok(v) if !v.is_empty() => v.parse().map_err(|e| {
            crate::Error::Usage(format!("MAILDRIFT_NOW={v:?} is not an RFC 3339 time: {e}"))
        }),
        _ => Ok(jiff::Timestamp::now()),
    }
}

/// Today's date in the local time zone (review and expiry dates are calendar days).
pub fn today(now: jiff::Timestamp) -> jiff::civil::Date {
    now.to_zoned(jiff::tz::TimeZone::system()).date()
}
