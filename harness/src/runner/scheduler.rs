//! Which scenario runs next, and on how many workers: the queue comes in the order the run
//! chose (longest waits first, or shuffled); a worker that frees up takes the first queued
//! scenario an idle lab of the pool fits, else the head of the queue. Labs thus serve
//! scenarios that need the same containers, and boots stay few.

use crate::runner::{self, Event, Inputs, ScenarioRun};
use crate::scenario::plan::Resolved;
use crate::scenario::Scenario;
use crate::testbed::Role;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc::UnboundedSender;

/// A planned scenario waiting its turn.
#[derive(Clone)]
pub struct Queued {
    /// Its number in the whole selection (it names its lab).
    pub number: usize,
    pub planned: (Scenario, Resolved),
    /// How long it is expected to hold its lab (see [`expected_ms`]).
    pub expected_ms: u64,
}

/// How long each scenario held its lab, by name, from an earlier run's `history.json` or from
/// a plain `{"scenario": ms}` map (the durations a project commits, as test splitters do, so a
/// fresh checkout or a CI shard orders by measured times too): the best guess of how long it
/// will take again (its `within`s miss the waits that dominate: a recovery deadline, a throttle
/// the recursor keeps). From a history, the wall time less the wait for a lab: that wait was
/// the run's (where the scenario stood in the queue), not the scenario's.
pub fn walls_in(path: &std::path::Path) -> anyhow::Result<HashMap<String, u64>> {
    use anyhow::Context;
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    if let Some(runs) = v["scenarios"].as_array() {
        let held = |r: &serde_json::Value| Some(r["wall_ms"].as_u64()?.saturating_sub(r["timeline"]["queued_ms"].as_u64().unwrap_or(0)));
        return Ok(runs.iter().filter_map(|r| Some((r["scenario"]["name"].as_str()?.to_string(), held(r)?))).collect());
    }
    let map = v.as_object().filter(|m| !m.is_empty() && m.values().all(|x| x.is_u64()));
    let map = map.with_context(|| format!("{}: neither a history.json (no `scenarios` list) nor a {{\"scenario\": ms}} map", path.display()))?;
    Ok(map.iter().map(|(k, x)| (k.clone(), x.as_u64().unwrap_or_default())).collect())
}

/// The durations file a scenarios directory may carry (see `walls_in`).
pub const DURATIONS_FILE: &str = "durations.json";

/// How long a scenario is expected to hold its lab: an earlier run's time where there is one,
/// else the scenario's own `within`s.
pub fn expected_ms(s: &Scenario, walls: &HashMap<String, u64>) -> u64 {
    walls.get(&s.name).copied().unwrap_or_else(|| s.expected_wait().as_millis() as u64)
}

/// Longest first, so the long waits overlap instead of ending the run; but a short scenario
/// that ends its VM (at most a fifth of the longest) goes last: mid-run, the VM it ends is
/// renewed for a later scenario; at the end, it ends a lab nobody needs. A longer one
/// stays in place: last, it would end the run late (measured: 5 boots fewer with every such
/// scenario last, 4-8 CPU-s less, the run 1-2 s longer). Ties keep their order.
pub fn longest_first(queue: &mut [Queued]) {
    let longest = queue.iter().map(|q| q.expected_ms).max().unwrap_or(0);
    let goes_last = |q: &Queued| q.planned.0.needs_fresh_lab().is_some() && q.expected_ms * 5 <= longest;
    queue.sort_by_key(|q| (goes_last(q), std::cmp::Reverse(q.expected_ms)));
}

/// The queue in the order the run chose: shuffled by `seed` (no verdict may depend on which
/// scenario ran before another on a lab), else longest first. `number`: a scenario's number
/// in the whole selection.
pub fn queue(planned: &[(Scenario, Resolved)], number: impl Fn(&str) -> usize, seed: Option<u64>, walls: &HashMap<String, u64>) -> Vec<Queued> {
    let mut order: Vec<Queued> = planned.iter().cloned().map(|p| Queued { number: number(&p.0.name), expected_ms: expected_ms(&p.0, walls), planned: p }).collect();
    match seed {
        Some(seed) => {
            use rand::{seq::SliceRandom, SeedableRng};
            order.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed));
        }
        None => longest_first(&mut order),
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
            while let Some(q) = next(&queue, &inputs) {
                done.push(runner::run_scenario(&inputs, q.number + 1, &q.planned, &events).await);
                remove_unwanted(&inputs).await;
            }
            done
        }
    });
    futures_util::future::join_all(workers).await.into_iter().flatten().collect()
}

/// Idle labs that no scenario will lease any more, removed while the last scenarios still run.
async fn remove_unwanted(inputs: &Inputs) {
    if let Some(pool) = &inputs.pool {
        crate::testbed::pool::remove(pool.unwanted()).await;
    }
}

/// The first queued scenario an idle lab fits as it is, one that hands its lab on before one
/// that ends it (a lab's chain of scenarios is cut short otherwise, and a later one boots), else
/// the head (which takes an idle lab of other helpers, reshaped, before it boots one). On two
/// cores the run is CPU-bound: a boot spared is worth more than the longest-first order.
fn next(queue: &Mutex<VecDeque<Queued>>, inputs: &Inputs) -> Option<Queued> {
    let mut q = queue.lock().unwrap();
    let idle = inputs.pool.as_ref().map(|p| p.idle_roles()).unwrap_or_default();
    let i = pick(&q, &idle)?;
    q.remove(i)
}

/// [`next`]'s choice, given the containers of each idle lab: the position in `q`.
fn pick(q: &VecDeque<Queued>, idle: &[Vec<Role>]) -> Option<usize> {
    q.front()?;
    let as_is = |s: &Scenario| idle.iter().any(|has| has == &runner::lab_roles(s));
    let fitting = |hands_on: bool| q.iter().position(|c| matches!(c.planned.1, Resolved::Ready(_)) && c.planned.0.needs_fresh_lab().is_none() == hands_on && as_is(&c.planned.0));
    Some(fitting(true).or_else(|| fitting(false)).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scenario named `name` of one check step on `on`, after `more` (faults), ready to run.
    fn ready(name: &str, more: &str, on: &str, within_s: u64) -> (Scenario, Resolved) {
        let toml = format!("name = \"{name}\"\nsection = \"x\"\nclaims = [\"TRI-1\"]\n{more}[[symptom]]\npart = \"check\"\nrun = \"true\"\non = \"{on}\"\nexpect = {{ exit = 0 }}\nwithin = \"{within_s}s\"\n");
        let s = Scenario::parse("x.toml", &toml).unwrap();
        (s.clone(), Resolved::Ready(Box::new(crate::scenario::plan::Planned { scenario: s, facts_used: vec![] })))
    }

    fn queued(name: &str, within_s: u64) -> Queued {
        Queued { number: 0, planned: ready(name, "", "pdns-vm", within_s), expected_ms: 0 }
    }

    fn names(q: &[Queued]) -> Vec<&str> {
        q.iter().map(|q| q.planned.0.name.as_str()).collect()
    }

    #[test]
    fn an_earlier_runs_wall_time_orders_before_the_scenarios_own_waits() {
        let planned: Vec<(Scenario, Resolved)> = [queued("short-waits", 30), queued("measured-long", 5), queued("unmeasured", 10)].into_iter().map(|q| q.planned).collect();
        let walls = HashMap::from([("measured-long".to_string(), 80_000), ("short-waits".to_string(), 20_000)]);
        let q = queue(&planned, |_| 0, None, &walls);
        assert_eq!(names(&q), ["measured-long", "short-waits", "unmeasured"]);
        let q = queue(&planned, |_| 0, None, &HashMap::new());
        assert_eq!(names(&q), ["short-waits", "unmeasured", "measured-long"], "without history: the `within`s");
    }

    #[test]
    fn a_short_scenario_that_ends_its_lab_goes_last() {
        let ending = |name: &str| ready(name, "[[fault]]\nkind = \"stop-vm\"\n", "pdns-vm", 1);
        assert!(ending("x").0.needs_fresh_lab().is_some());
        let planned = vec![ending("ends-short"), queued("hands-on-short", 1).planned, ending("ends-long"), queued("longest", 1).planned];
        let walls = HashMap::from([("ends-short", 12_000), ("hands-on-short", 5_000), ("ends-long", 13_000), ("longest", 60_000)].map(|(k, v)| (k.to_string(), v)));
        let q = queue(&planned, |_| 0, None, &walls);
        assert_eq!(names(&q), ["longest", "ends-long", "hands-on-short", "ends-short"], "12 s is a fifth of 60 s, 13 s more");
    }

    #[test]
    fn an_idle_lab_that_fits_a_scenario_as_it_is_goes_to_it_before_the_head() {
        let on_ws = |name: &str| Queued { number: 0, planned: ready(name, "", "workstation", 1), expected_ms: 0 };
        let ws_lab = runner::lab_roles(&on_ws("probe").planned.0);
        let core_lab = runner::lab_roles(&queued("probe", 1).planned.0);
        assert_ne!(ws_lab, core_lab);
        let q: VecDeque<Queued> = [queued("head", 1), on_ws("second"), on_ws("third")].into();
        assert_eq!(pick(&q, &[]), Some(0), "no idle lab: the head");
        assert_eq!(pick(&q, std::slice::from_ref(&core_lab)), Some(0), "the head fits");
        assert_eq!(pick(&q, std::slice::from_ref(&ws_lab)), Some(1), "the first that fits");
        assert_eq!(pick(&VecDeque::new(), &[]), None);
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
        std::fs::write(&p, r#"{"scenarios":[{"scenario":{"name":"a"},"wall_ms":1200},{"scenario":{"name":"b"}},{"scenario":{"name":"c"},"wall_ms":9000,"timeline":{"queued_ms":4000}}]}"#).unwrap();
        assert_eq!(walls_in(&p).unwrap(), HashMap::from([("a".to_string(), 1200), ("c".to_string(), 5000)]), "the wait for a lab was the run's");
        std::fs::write(&p, r#"{"a": 900, "b": 80000}"#).unwrap();
        assert_eq!(walls_in(&p).unwrap(), HashMap::from([("a".to_string(), 900), ("b".to_string(), 80_000)]));
        for bad in ["{}", r#"{"a": "slow"}"#, "[]"] {
            std::fs::write(&p, bad).unwrap();
            assert!(walls_in(&p).unwrap_err().to_string().contains("neither a history.json"), "{bad}");
        }
    }
}
