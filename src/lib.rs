//! maildrift: keeps the outgoing mail of Moodle sites honest.
//!
//! The modules follow the pipeline:
//! [`moodle`] client → [`snapshot`] → [`compare`] / [`checks`] / [`dns`] / [`health`] →
//! [`findings`] → [`report`] renderers; [`history`] keeps runs over time. [`cli`] wires them to
//! the command line.

// Nothing here needs unsafe code; forbidding it keeps it that way (it cannot be allowed locally).
#![forbid(unsafe_code)]

pub mod audit;
pub mod baseline;
pub mod catalogue;
pub mod checks;
pub mod cli;
pub mod collect;
pub mod compare;
pub mod config;
pub mod dns;
pub mod error;
pub mod evidence;
pub mod fanout;
pub mod findings;
pub mod health;
pub mod history;
pub mod init;
pub mod location;
pub mod moodle;
pub mod output;
pub mod page;
pub mod relay;
pub mod report;
pub mod sanitise;
pub mod snapshot;
pub mod token;

pub use error::{Error, Result};
