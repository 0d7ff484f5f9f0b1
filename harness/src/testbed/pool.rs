//! Labs that served a scenario and were proven clean, waiting for the next one. A lab enters
//! only with a fingerprint equal to the one it had when it first reached steady state; it is
//! taken by a scenario that needs the same containers. The labs alive, busy or idle, never
//! exceed what the run would hold without reuse (one per scenario running at once): an idle
//! lab of other containers makes way for a boot.

use super::fingerprint::Fingerprint;
use super::{Lab, Role};
use std::sync::Mutex;

/// A lab between scenarios, with what proves it clean.
pub struct Pooled {
    pub lab: Lab,
    pub pristine: Fingerprint,
    /// The scenarios it served, in order.
    pub served: Vec<String>,
}

pub struct Pool {
    state: Mutex<State>,
    /// Labs alive at most, in use or idle.
    cap: usize,
}

#[derive(Default)]
struct State {
    idle: Vec<Pooled>,
    /// Labs alive: in use by a scenario, or idle here.
    alive: usize,
}

/// What a scenario gets from the pool.
pub enum Lease {
    /// An idle lab with these containers.
    Reuse(Pooled),
    /// Room for a lab of its own; the idle labs evicted to make it are the caller's to remove.
    Boot { evicted: Vec<Pooled> },
}

impl Pool {
    pub fn new(cap: usize) -> Pool {
        Pool { state: Mutex::default(), cap: cap.max(1) }
    }

    /// An idle lab built with exactly these roles (the booting set) when `reuse`, else room
    /// to boot one.
    pub fn lease(&self, roles: &[Role], reuse: bool) -> Lease {
        let mut s = self.state.lock().unwrap();
        if let Some(i) = s.idle.iter().position(|p| reuse && p.lab.spec.roles == roles) {
            return Lease::Reuse(s.idle.remove(i));
        }
        let mut evicted = Vec::new();
        // The longest idle go first.
        while s.alive + 1 > self.cap && !s.idle.is_empty() {
            evicted.push(s.idle.remove(0));
            s.alive -= 1;
        }
        s.alive += 1;
        Lease::Boot { evicted }
    }

    /// The containers of each idle lab.
    pub fn idle_roles(&self) -> Vec<Vec<Role>> {
        self.state.lock().unwrap().idle.iter().map(|p| p.lab.spec.roles.clone()).collect()
    }

    /// A lab proven clean, for the next scenario.
    pub fn put(&self, p: Pooled) {
        self.state.lock().unwrap().idle.push(p);
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
