//! Reports: one model (`report.json`), several renderers.
pub mod model;
pub mod common;
pub mod compare;
#[doc(hidden)]
#[cfg(test)]
pub mod fixture;
pub mod html;
pub mod junit;
pub mod md;
pub mod run_dir;
pub mod schema;
pub mod snapshot;
pub mod svg;
pub mod write;
