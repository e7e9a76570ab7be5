//! Checks that need no DNS: baseline conformance, drift between environments, sender rules.

use crate::findings::Kind;

/// Finding codes raised by the checks in this module.
pub const KINDS: &[Kind] = &[];
