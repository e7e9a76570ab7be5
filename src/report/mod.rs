//! The report model and its renderers.

pub mod model;
pub mod render;

pub use model::*;
