//! (being written) Scenario files.
use anyhow::Result;
pub struct Scenario { pub name: String, pub claims: Vec<crate::claims::ClaimId>, pub section: String }
pub fn load_dir(_d: &std::path::Path) -> Result<Vec<Scenario>> { Ok(vec![]) }
