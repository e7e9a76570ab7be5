//! Mail health: cron, ad-hoc task queue, failed mail, bounces, test-mail evidence.

use crate::findings::Kind;

/// Finding codes raised by the health and evidence checks.
pub const KINDS: &[Kind] = &[];
