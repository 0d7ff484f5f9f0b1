//! Which scenario runs next, and on how many workers: the queue comes in the order the run
//! chose (longest waits first, or shuffled); a worker that frees up takes the first queued
//! scenario an idle lab of the pool fits, else the head of the queue. Labs thus serve
//! scenarios that need the same containers, and boots stay few.

use crate::runner::{self, Event, Inputs, ScenarioRun};
use crate::scenario::plan::Resolved;
use crate::scenario::Scenario;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc::UnboundedSender;

/// A planned scenario with its number in the whole selection (it names its lab).
pub type Queued = (usize, (Scenario, Resolved));

/// Each scenario's wall time by name, from an earlier run's `history.json` or from a plain
/// `{"scenario": ms}` map (the durations a project commits, as test splitters do, so a fresh
/// checkout or a CI shard orders by measured times too): the best guess of how long it will
/// take again (its `within`s miss the waits that dominate: a recovery deadline, a throttle the
/// recursor keeps).
pub fn walls_in(path: &std::path::Path) -> anyhow::Result<HashMap<String, u64>> {
    use anyhow::Context;
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    if let Some(runs) = v["scenarios"].as_array() {
        return Ok(runs.iter().filter_map(|r| Some((r["scenario"]["name"].as_str()?.to_string(), r["wall_ms"].as_u64()?))).collect());
    }
    let map = v.as_object().filter(|m| !m.is_empty() && m.values().all(|x| x.is_u64()));
    let map = map.with_context(|| format!("{}: neither a history.json (no `scenarios` list) nor a {{\"scenario\": ms}} map", path.display()))?;
    Ok(map.iter().map(|(k, x)| (k.clone(), x.as_u64().unwrap_or_default())).collect())
}

/// The durations file a scenarios directory may carry (see `walls_in`).
pub const DURATIONS_FILE: &str = "durations.json";

/// Longest first (so the long waits overlap instead of ending the run): by an earlier run's
/// wall time where it has one, else by the scenario's own `within`s. Ties keep their order.
pub fn longest_first(queue: &mut [Queued], walls: &HashMap<String, u64>) {
    queue.sort_by_key(|(_, (s, _))| std::cmp::Reverse(walls.get(&s.name).copied().unwrap_or_else(|| s.expected_wait().as_millis() as u64)));
}

/// The queue in the order the run chose: shuffled by `seed` (no verdict may depend on which
/// scenario ran before another on a lab), else longest first. `number`: a scenario's number
/// in the whole selection.
pub fn queue(planned: &[(Scenario, Resolved)], number: impl Fn(&str) -> usize, seed: Option<u64>, walls: &HashMap<String, u64>) -> Vec<Queued> {
    let mut order: Vec<Queued> = planned.iter().cloned().map(|p| (number(&p.0.name), p)).collect();
    match seed {
        Some(seed) => {
            use rand::{seq::SliceRandom, SeedableRng};
            order.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed));
        }
        None => longest_first(&mut order, walls),
    }
    order
}

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

/// The first queued scenario an idle lab fits as it is, one that hands its lab on before one
/// that ends it (a lab's chain of scenarios is cut short otherwise, and a later one boots), else
/// the head (which takes an idle lab of other helpers, reshaped, before it boots one).
fn next(queue: &Mutex<VecDeque<Queued>>, inputs: &Inputs) -> Option<Queued> {
    let mut q = queue.lock().unwrap();
    let idle = inputs.pool.as_ref().map(|p| p.idle_roles()).unwrap_or_default();
    let as_is = |s: &Scenario| idle.iter().any(|has| has == &runner::lab_roles(s));
    let fitting = |hands_on: bool| q.iter().position(|(_, (s, r))| matches!(r, Resolved::Ready(_)) && s.needs_fresh_lab().is_none() == hands_on && as_is(s));
    match fitting(true).or_else(|| fitting(false)) {
        Some(i) => q.remove(i),
        None => q.pop_front(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queued(name: &str, within_s: u64) -> Queued {
        let toml = format!("name = \"{name}\"\nsection = \"x\"\nclaims = [\"TRI-1\"]\n[[symptom]]\npart = \"check\"\nrun = \"true\"\non = \"pdns-vm\"\nexpect = {{ exit = 0 }}\nwithin = \"{within_s}s\"\n");
        let s = Scenario::parse("x.toml", &toml).unwrap();
        (0, (s.clone(), Resolved::Ready(Box::new(crate::scenario::plan::Planned { scenario: s, facts_used: vec![] }))))
    }

    #[test]
    fn an_earlier_runs_wall_time_orders_before_the_scenarios_own_waits() {
        let mut q = vec![queued("short-waits", 30), queued("measured-long", 5), queued("unmeasured", 10)];
        let walls = HashMap::from([("measured-long".to_string(), 80_000), ("short-waits".to_string(), 20_000)]);
        longest_first(&mut q, &walls);
        let names: Vec<&str> = q.iter().map(|(_, (s, _))| s.name.as_str()).collect();
        assert_eq!(names, ["measured-long", "short-waits", "unmeasured"]);
        longest_first(&mut q, &HashMap::new());
        let names: Vec<&str> = q.iter().map(|(_, (s, _))| s.name.as_str()).collect();
        assert_eq!(names, ["short-waits", "unmeasured", "measured-long"], "without history: the `within`s");
    }

    #[test]
    fn the_shipped_durations_name_every_shipped_scenario_and_nothing_else() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
        let walls = walls_in(&dir.join(DURATIONS_FILE)).unwrap();
        let mut names: Vec<String> = crate::scenario::load_dir(&dir).unwrap().into_iter().map(|s| s.name).collect();
        names.sort();
        let mut timed: Vec<String> = walls.into_keys().collect();
        timed.sort();
        assert_eq!(timed, names, "regenerate scenarios/{DURATIONS_FILE} from a full run's history (README, Speed)");
    }

    #[test]
    fn walls_are_read_from_a_history_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("history.json");
        std::fs::write(&p, r#"{"scenarios":[{"scenario":{"name":"a"},"wall_ms":1200},{"scenario":{"name":"b"}}]}"#).unwrap();
        assert_eq!(walls_in(&p).unwrap(), HashMap::from([("a".to_string(), 1200)]));
        std::fs::write(&p, r#"{"a": 900, "b": 80000}"#).unwrap();
        assert_eq!(walls_in(&p).unwrap(), HashMap::from([("a".to_string(), 900), ("b".to_string(), 80_000)]));
        for bad in ["{}", r#"{"a": "slow"}"#, "[]"] {
            std::fs::write(&p, bad).unwrap();
            assert!(walls_in(&p).unwrap_err().to_string().contains("neither a history.json"), "{bad}");
        }
    }
}
