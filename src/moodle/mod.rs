//! The Moodle web service client (filled in by the client work).

/// A failure talking to one Moodle site.
#[derive(Debug, thiserror::Error)]
pub enum MoodleError {
    #[error("{env}: {message}")]
    Other { env: String, message: String },
}
