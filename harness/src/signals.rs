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

/// Resolves on the first of SIGINT, SIGTERM, SIGHUP.
pub async fn stopped() -> Stop {
    let (Ok(mut int), Ok(mut term), Ok(mut hup)) =
        (signal(SignalKind::interrupt()), signal(SignalKind::terminate()), signal(SignalKind::hangup()))
    else {
        // No signal handling on this platform: never resolves.
        return std::future::pending().await;
    };
    tokio::select! {
        _ = int.recv() => Stop::Interrupt,
        _ = term.recv() => Stop::Terminate,
        _ = hup.recv() => Stop::Hangup,
    }
}
