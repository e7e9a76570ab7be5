//! Comparing values the way Moodle treats them, and diffing two snapshots.

pub mod diff;
pub mod normalise;
