//! The judge: verdicts and severities made from a run's history alone (`conclude`, a pure
//! function: no container, no clock) into the one report model every renderer reads (`model`),
//! and the gate that holds them to an approved baseline (`snapshot`: the baseline's form).
//! Imports the history, the scenarios and the claims, never the runner or the testbed's labs.

pub mod model;
pub mod conclude;
pub mod snapshot;
pub mod gate;
