//! pdns-drill: proves or refutes a PowerDNS lab runbook against the real daemons.
//!
//! Data flows one way, and the modules follow it (no module imports one further down):
//! the lab's inputs (`settings`, `zone`) and the testbed (`engine`, `image`, `mirror`, `testbed`,
//! `steady`) → scenarios planned against the lab (`scenario`: model, facts, plan) → faults and
//! steps run (`runner`, `fault`, `matcher`, `monitors`, with `probe` and `triage` for DNS) →
//! what happened (`history`, `events`) → verdicts (`conclude`, `claims`, `verdict`) → reports
//! (`report`). `drill` (the restore drill) uses the lab and the zone tools directly. The command
//! line lives in the binary and nothing here imports it.

// The catalogue and the verdict vocabulary.
pub mod claims;
pub mod verdict;

// Small shared pieces.
pub mod clock;
pub mod signals;
pub mod text;

// The lab's inputs: the daemons' settings, the zone journal and the SQLite it lands in.
pub mod settings;
pub mod secrets;
pub mod zone;

// DNS on the wire.
pub mod probe;
pub mod dig;
pub mod triage;

// The testbed.
pub mod console;
pub mod engine;
pub mod subnets;
pub mod image;
pub mod mirror;
pub mod testbed;
pub mod steady;
pub mod triage_probes;

// Scenarios, planned against the lab and run.
pub mod scenario;
pub mod fault;
pub mod matcher;
pub mod monitors;
pub mod runner;
pub mod scheduler;

// What a run recorded, the verdicts made of it, and the reports.
pub mod history;
pub mod events;
pub mod conclude;
pub mod gate;
pub mod report;

// The restore drill on the lab's own backups.
pub mod drill;

// Chaos: random fault combinations, the runbook followed, properties, shrinking.
pub mod chaos;
