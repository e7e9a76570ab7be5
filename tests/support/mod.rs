//! Shared test support. Each test binary uses a different part of it.

pub mod fake_moodle;
pub mod skip;
pub mod test_ca;
