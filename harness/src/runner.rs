//! (being written) Scenario execution.
use anyhow::{bail, Result};
use std::process::ExitCode;
pub async fn cli_run(_a: &crate::cli::RunArgs) -> Result<ExitCode> { bail!("`run` is not implemented yet") }
pub async fn drill_restore(_a: &crate::cli::LabArgs, _d: &std::path::Path) -> Result<ExitCode> { bail!("`drill restore` is not implemented yet") }
