//! DNS on the wire, from the harness: one query and what came back (`probe`), `dig` output
//! read as an operator reads it, and the runbook's triage table. Imports nothing else of the crate.

pub mod probe;
pub mod dig;
pub mod triage;
