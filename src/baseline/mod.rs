//! The baseline: the team's written mail standard as a committed TOML file.

/// Why a baseline could not be used.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("{0}")]
    Other(String),
}
