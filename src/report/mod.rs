//! The report model and its renderers.

pub mod changes;
pub mod merge;
pub mod model;
pub mod render;

pub use model::*;
