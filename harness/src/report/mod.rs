//! Reports: one model (`report.json`), several renderers.
pub mod model;
