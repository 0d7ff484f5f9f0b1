//! The signals a run answers like Ctrl-C: SIGINT from a terminal, SIGTERM and SIGHUP from a CI
//! system cancelling or timing out a job. Each ends the run the same way (reports marked
//! incomplete, every resource of the run removed) with the conventional exit code.

use tokio::signal::unix::{signal, SignalKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    Interrupt,
    Terminate,
    Hangup,
}

impl Stop {
    /// 128 + the signal number, as shells report it.
    pub fn exit_code(self) -> u8 {
        match self {
            Stop::Interrupt => 130,
            Stop::Terminate => 143,
            Stop::Hangup => 129,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Stop::Interrupt => "SIGINT",
            Stop::Terminate => "SIGTERM",
            Stop::Hangup => "SIGHUP",
        }
    }
}

/// Resolves on the first of SIGINT, SIGTERM, SIGHUP, at once when one came already: between
/// two pieces of work that race this (the preflight and the scenarios, say) no listener is
/// alive, and a signal then would otherwise be lost and the run go on.
pub async fn stopped() -> Stop {
    static LATCH: std::sync::OnceLock<tokio::sync::watch::Receiver<Option<Stop>>> = std::sync::OnceLock::new();
    let mut rx = LATCH.get_or_init(listen).clone();
    loop {
        if let Some(stop) = *rx.borrow_and_update() {
            return stop;
        }
        if rx.changed().await.is_err() {
            // No signal handling here (or its listener's runtime is gone): never resolves.
            return std::future::pending().await;
        }
    }
}

/// Listens from the first call on, for the life of the runtime, and keeps the first signal.
fn listen() -> tokio::sync::watch::Receiver<Option<Stop>> {
    let (tx, rx) = tokio::sync::watch::channel(None);
    if let (Ok(mut int), Ok(mut term), Ok(mut hup)) = (signal(SignalKind::interrupt()), signal(SignalKind::terminate()), signal(SignalKind::hangup())) {
        tokio::spawn(async move {
            let stop = tokio::select! {
                _ = int.recv() => Stop::Interrupt,
                _ = term.recv() => Stop::Terminate,
                _ = hup.recv() => Stop::Hangup,
            };
            tx.send_replace(Some(stop));
            // Held open: every later listener sees the signal.
            std::future::pending::<()>().await;
        });
    }
    rx
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// The one test of this binary that signals itself: the listener outlives the wait that
    /// installed it, and a signal that comes while no wait is alive ends the next one at once.
    #[tokio::test]
    async fn a_signal_that_came_between_two_waits_ends_the_second() {
        assert!(tokio::time::timeout(Duration::from_millis(20), stopped()).await.is_err(), "no signal yet");
        let sent = std::process::Command::new("kill").args(["-HUP", &std::process::id().to_string()]).status().unwrap();
        assert!(sent.success());
        // Nothing waits while the signal lands.
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(tokio::time::timeout(Duration::from_secs(5), stopped()).await, Ok(Stop::Hangup));
    }
}
