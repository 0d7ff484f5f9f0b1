//! pdns-drill: proves or refutes a PowerDNS lab runbook against the real daemons.
//!
//! Data flows one way, and the folders follow it, each below the next (no module imports one
//! further down this list): the runbook's claims and verdict words (`claims`) → the lab's inputs
//! (`inputs`: settings, secrets, the zone) → DNS on the wire (`dns`) → the testbed (`testbed`:
//! the engine, the image, the lab, its steady state, reset and pool) → scenarios planned against
//! the lab (`scenario`) → what a run records (`history`: the vocabulary the runner writes in) →
//! faults and steps run (`runner`) → verdicts and the gate (`judge`, which reads the history
//! alone) → reports (`report`). `drill` (the restore drill) and `chaos` (random
//! fault combinations) use the lab, the runner's pieces and the judge. `session` is the way in
//! for every job: inputs checked, Docker, images, capacity, the preflight, signals and sweeping.
//! The command line lives in the binary and nothing here imports it.

// Small shared pieces.
pub mod clock;
pub mod files;
pub mod signals;
pub mod text;

pub mod claims;
pub mod inputs;
pub mod dns;
pub mod testbed;
pub mod scenario;
pub mod history;
pub mod runner;
pub mod judge;
pub mod report;
pub mod drill;
pub mod chaos;

// The way in: one use of the harness on one lab, whatever the job.
pub mod session;
