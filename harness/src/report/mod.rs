//! Reports: the judge's one model (`judge::model`, written as `report.json`) rendered as
//! Markdown, HTML, JUnit and SVG timelines, compared across runs, kept in run directories.
//! Imports the judge's model and what it quotes (claims, inputs, scenarios, history); never a lab.
pub mod common;
pub mod compare;
#[doc(hidden)]
#[cfg(test)]
pub mod fixture;
pub mod html;
pub mod junit;
pub mod md;
pub mod partial;
pub mod run_dir;
pub mod schema;
pub mod svg;
pub mod write;
