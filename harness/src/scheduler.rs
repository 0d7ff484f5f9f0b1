//! Which scenario runs next, and on how many workers: the queue comes in the order the run
//! chose (longest waits first, or shuffled); a worker that frees up takes the first queued
//! scenario an idle lab of the pool fits, else the head of the queue. Labs thus serve
//! scenarios that need the same containers, and boots stay few.

use crate::runner::{self, Event, Inputs, ScenarioRun};
use crate::scenario::plan::Resolved;
use crate::scenario::Scenario;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc::UnboundedSender;

/// A planned scenario with its number in the whole selection (it names its lab).
pub type Queued = (usize, (Scenario, Resolved));

/// Runs every queued scenario, `jobs` at a time; the runs in the order they finished.
pub async fn run_all(inputs: Inputs, queue: Vec<Queued>, jobs: usize, events: UnboundedSender<Event>) -> Vec<ScenarioRun> {
    let queue = Arc::new(Mutex::new(VecDeque::from(queue)));
    let workers = (0..jobs.max(1)).map(|_| {
        let (inputs, queue, events) = (inputs.clone(), queue.clone(), events.clone());
        async move {
            let mut done = Vec::new();
            while let Some((i, planned)) = next(&queue, &inputs) {
                done.push(runner::run_scenario(&inputs, i + 1, &planned, &events).await);
            }
            done
        }
    });
    futures_util::future::join_all(workers).await.into_iter().flatten().collect()
}

/// The first queued scenario an idle lab fits (only reusable ones can take one), else the head.
fn next(queue: &Mutex<VecDeque<Queued>>, inputs: &Inputs) -> Option<Queued> {
    let mut q = queue.lock().unwrap();
    let idle = inputs.pool.as_ref().map(|p| p.idle_roles()).unwrap_or_default();
    let fits = q.iter().position(|(_, (s, r))| {
        matches!(r, Resolved::Ready(_)) && s.needs_fresh_lab().is_none() && idle.contains(&runner::lab_roles(s))
    });
    match fits {
        Some(i) => q.remove(i),
        None => q.pop_front(),
    }
}
