//! The Moodle web service client: talks to a site's REST endpoint through the companion plugin
//! `local_maildrift` and turns its answers into [`crate::snapshot::Snapshot`]s.
//!
//! - [`protocol`]: the JSON answers, as Moodle's REST server emits them.
//! - [`error`]: [`MoodleError`], one variant per failure, each saying what to do.
//! - `transport`: scheme rules, TLS roots, no redirects, size-capped bodies.
//! - [`retry`]: backoff for transient failures.
//! - [`client`]: [`Client`], the calls themselves.

pub mod client;
pub mod error;
pub mod protocol;
pub mod retry;
mod transport;

pub use client::Client;
pub use error::MoodleError;
pub use protocol::{MailConfig, MailHealth, RelayProbe, SiteInfo, TestMail};
pub use retry::RetryPolicy;
pub use transport::MAX_BODY;
