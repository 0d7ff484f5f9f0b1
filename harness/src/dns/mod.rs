//! DNS on the wire, from the harness: its words (`codes`: transports, record types, response
//! codes), one query and what came back (`probe`), `dig` output
//! read as an operator reads it, and the runbook's triage table. Imports nothing else of the crate.

pub mod codes;
pub mod probe;
pub mod dig;
pub mod triage;
