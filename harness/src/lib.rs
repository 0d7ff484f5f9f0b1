//! pdns-drill: proves or refutes a PowerDNS lab runbook against the real daemons.
//!
//! Data flows one way: scenario → faults and steps → observations (history) → verdicts → reports.

pub mod claims;
pub mod verdict;
pub mod text;
pub mod settings;
pub mod signals;
pub mod report;

// DNS-facing pieces.
pub mod probe;
pub mod triage;

// Zone data: the dns-records journal and the SQLite it lands in.
pub mod journal;
pub mod zone;

// The lab.
pub mod engine;
pub mod image;
pub mod mirror;
pub mod testbed;
pub mod steady;

// Scenarios and their execution.
pub mod scenario;
pub mod fault;
pub mod runner;
pub mod matcher;
pub mod conclude;
pub mod drill;
pub mod chaos;
pub mod cli;
pub mod triage_probes;
