//! The integration tests, one binary: each module was a test binary of its own, and each of
//! those linked the whole library again (most of a clean build's test compile) and ran only
//! after the one before it ended, so one file's long waits on a daemon never overlapped
//! another's. A test that needs Docker starts with `common::docker_missing()`: without an
//! engine it skips with a message (the pure tests still run), except under CI, where it fails.

mod common;

mod check;
mod ci_contract;
mod ci_templates;
mod forward_file;
mod gate;
mod lab;
mod lab_reuse;
mod operator_variants;
mod restore_drill;
mod scenarios;
mod schema;
mod signals;
mod upgrade;
