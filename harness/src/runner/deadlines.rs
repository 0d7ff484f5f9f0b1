//! How long the runner waits on the daemons after it or the runbook acted: the bounds its
//! phases share (chaos judges a recovery by the same one).

use std::time::Duration;

/// How long steady state may take to return after a recovery (chaos judges by the same bound).
pub const STEADY_AFTER_DEADLINE: Duration = Duration::from_secs(45);
/// Past that deadline, with the daemons up, how long steady state is watched for: the
/// recursor keeps SERVFAILing names asked during an outage for up to ~2 min while they are
/// asked (its SERVFAIL packet cache and per-name throttle), which is a slow recovery, not a
/// failed one.
pub const LATE_RECOVERY_BOUND: Duration = Duration::from_secs(150);
pub const LATE_POLL: Duration = Duration::from_secs(5);
/// How long a correction waits for the lab to settle by itself before restarting the recursor.
pub const CORRECTION_SETTLE: Duration = Duration::from_secs(10);
