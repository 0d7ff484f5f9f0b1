//! Labs that served a scenario and were proven clean, waiting for the next one. A lab enters
//! only with a fingerprint equal to the one it had when it first reached steady state; it is
//! taken by a scenario that needs the same containers, or made into its lab first (helpers
//! removed or added: the VM and the stand-in internet, most of a boot's cost, stay). The labs
//! alive, busy or idle, never exceed what the run would hold without reuse (one per scenario
//! running at once). A scenario waiting for a boot slot takes a lab that comes back meanwhile
//! instead: the boot it spares is the costliest thing a run does. Once every scenario has its
//! lab, none is wanted back: a reset then proves a lab clean for nobody.

use super::fingerprint::Fingerprint;
use super::{Lab, Role};
use std::sync::Mutex;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

/// A lab between scenarios, with what proves it clean.
pub struct Pooled {
    pub lab: Lab,
    pub pristine: Fingerprint,
    /// The scenarios it served, in order.
    pub served: Vec<String>,
}

/// What making a lab of containers `has` into one of `needs` costs (see
/// [`super::Reshaped::between`]), in removals (cheap) and helpers created and booted (each
/// dearer than every removal together); 0 when they are the same.
pub fn reshaping_cost(has: &[Role], needs: &[Role]) -> usize {
    let r = super::Reshaped::between(has, needs);
    r.added.len() * 10 + r.shed.len()
}

/// Removes labs taken out of the pool (evicted, unwanted, or left at the end of the run).
pub async fn remove(labs: Vec<Pooled>) {
    futures_util::future::join_all(labs.iter().map(|p| p.lab.down())).await;
}

pub struct Pool {
    state: Mutex<State>,
    /// Labs alive at most, in use or idle.
    cap: usize,
    /// Told whenever a lab comes back.
    returned: Notify,
}

#[derive(Default)]
struct State {
    idle: Vec<Pooled>,
    /// Labs alive: in use by a scenario, or idle here.
    alive: usize,
    /// Scenarios that have yet to get a lab (idle or booted) from here.
    unleased: usize,
}

/// What a scenario gets from the pool.
pub enum Lease {
    /// An idle lab with these containers.
    Reuse(Pooled),
    /// Room and a boot slot for a lab of its own (the slot held until the lab is steady); the
    /// idle labs evicted to make room are the caller's to remove.
    Boot { slot: OwnedSemaphorePermit, evicted: Vec<Pooled> },
}

impl Pool {
    /// A pool for `scenarios` scenarios that each lease one lab, `cap` labs alive at most.
    pub fn new(cap: usize, scenarios: usize) -> Pool {
        Pool { state: Mutex::new(State { unleased: scenarios, ..State::default() }), cap: cap.max(1), returned: Notify::new() }
    }

    /// An idle lab (the caller makes it one of `roles`, see [`super::Lab::reshape`]), else room
    /// and one of `boots`' slots to boot one, whichever comes first: a lab handed back while
    /// this waits for a slot is taken instead of booting.
    pub async fn lease(&self, roles: &[Role], boots: &std::sync::Arc<Semaphore>) -> Lease {
        loop {
            // Registered before looking, so a lab put back in between still wakes this.
            let returned = self.returned.notified();
            tokio::pin!(returned);
            returned.as_mut().enable();
            if let Some(p) = self.take(roles) {
                return Lease::Reuse(p);
            }
            tokio::select! {
                slot = boots.clone().acquire_owned() => {
                    let slot = slot.expect("the boot semaphore is never closed");
                    if let Some(p) = self.take(roles) {
                        return Lease::Reuse(p);
                    }
                    return Lease::Boot { slot, evicted: self.room() };
                }
                _ = &mut returned => {}
            }
        }
    }

    /// The idle lab that is cheapest to make into one of `roles` (see [`reshaping_cost`]).
    fn take(&self, roles: &[Role]) -> Option<Pooled> {
        let mut s = self.state.lock().unwrap();
        let i = s.idle.iter().enumerate().min_by_key(|(_, p)| reshaping_cost(&p.lab.spec.roles, roles)).map(|(i, _)| i)?;
        s.unleased = s.unleased.saturating_sub(1);
        Some(s.idle.remove(i))
    }

    /// Counts a lab about to boot, evicting idle ones (the longest idle first) past the cap
    /// (none are idle when [`Pool::take`] found none; kept for the cap's sake).
    fn room(&self) -> Vec<Pooled> {
        let mut s = self.state.lock().unwrap();
        let mut evicted = Vec::new();
        while s.alive + 1 > self.cap && !s.idle.is_empty() {
            evicted.push(s.idle.remove(0));
            s.alive -= 1;
        }
        s.alive += 1;
        s.unleased = s.unleased.saturating_sub(1);
        evicted
    }

    /// Whether a scenario is still to lease a lab: if not, a lab that served its scenario is
    /// removed rather than reset for nobody.
    pub fn wanted(&self) -> bool {
        self.state.lock().unwrap().unleased > 0
    }

    /// The idle labs once no scenario is left to lease one (none otherwise): removed while the
    /// last scenarios run, not after them.
    pub fn unwanted(&self) -> Vec<Pooled> {
        if self.wanted() {
            return Vec::new();
        }
        self.drain()
    }

    /// The containers of each idle lab.
    pub fn idle_roles(&self) -> Vec<Vec<Role>> {
        self.state.lock().unwrap().idle.iter().map(|p| p.lab.spec.roles.clone()).collect()
    }

    /// A lab this pool did not lease (the preflight's), counted alive and idle from now on.
    pub fn adopt(&self, p: Pooled) {
        self.state.lock().unwrap().alive += 1;
        self.put(p);
    }

    /// A lab proven clean, for the next scenario.
    pub fn put(&self, p: Pooled) {
        self.state.lock().unwrap().idle.push(p);
        self.returned.notify_waiters();
    }

    /// A lab leased from here is gone (discarded, removed, kept, or never came up).
    pub fn gone(&self) {
        let mut s = self.state.lock().unwrap();
        s.alive = s.alive.saturating_sub(1);
    }

    /// Every idle lab, for teardown at the end of the run.
    pub fn drain(&self) -> Vec<Pooled> {
        let mut s = self.state.lock().unwrap();
        s.alive -= s.idle.len();
        std::mem::take(&mut s.idle)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testbed::LabSpec;

    #[test]
    fn the_same_lab_costs_nothing_fewer_helpers_little_and_new_ones_most() {
        let core = LabSpec::booting(vec![]);
        let ws = LabSpec::booting(vec![Role::Workstation]);
        let client = LabSpec::booting(vec![Role::Client]);
        assert_eq!(reshaping_cost(&ws, &ws), 0);
        assert_eq!(reshaping_cost(&client, &core), 2);
        assert_eq!(reshaping_cost(&core, &ws), 10);
        // The workstation that serves a client boots systemd, a plain one does not: remade.
        assert_eq!(reshaping_cost(&client, &ws), 12);
        assert_eq!(reshaping_cost(&ws, &client), 21);
        assert!(reshaping_cost(&client, &core) < reshaping_cost(&core, &ws));
    }

    #[tokio::test]
    async fn no_lab_is_wanted_back_once_every_scenario_has_leased_one() {
        let pool = Pool::new(4, 2);
        let boots = std::sync::Arc::new(Semaphore::new(4));
        let roles = LabSpec::booting(vec![]);
        assert!(pool.wanted());
        assert!(matches!(pool.lease(&roles, &boots).await, Lease::Boot { .. }));
        assert!(pool.wanted(), "one scenario still to lease");
        assert!(matches!(pool.lease(&roles, &boots).await, Lease::Boot { .. }));
        assert!(!pool.wanted());
        assert!(pool.unwanted().is_empty(), "nothing idle to remove");
    }
}
