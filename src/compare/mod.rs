//! Comparing values the way Moodle treats them, and diffing two snapshots.
