//! A long-lived shell per container, the harness's console into it: a command written to an
//! idle console costs the engine nothing, where a `docker exec` of its own costs a runc
//! process, a shim round trip and ~70 ms of CPU (on this engine, more than the labs' daemons
//! use in a whole run). Commands run as an exec would run them: argv as given, no stdin, the
//! container's environment, their own exit code; each console runs one command at a time. A
//! command run as another user (the runbook's operator) runs in a console opened as that user.

use anyhow::Result;
use bollard::container::LogOutput;
use futures_util::{Stream, StreamExt};
use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncWrite, AsyncWriteExt};

/// One shell, attached: what is written to `input` runs; `output` carries its stdout/stderr.
pub struct Console {
    pub exec_id: String,
    pub input: Pin<Box<dyn AsyncWrite + Send>>,
    pub output: Pin<Box<dyn Stream<Item = Result<LogOutput, bollard::errors::Error>> + Send>>,
}

/// Idle consoles by container name. A console leaves the pool while it runs a command and
/// returns only if the command finished: one that timed out or lost its shell is dropped.
#[derive(Clone, Default)]
pub struct Consoles {
    idle: Arc<Mutex<HashMap<String, Vec<Console>>>>,
}

impl Consoles {
    pub fn take(&self, container: &str) -> Option<Console> {
        self.idle.lock().unwrap().get_mut(container).and_then(Vec::pop)
    }

    pub fn put_back(&self, container: &str, c: Console) {
        self.idle.lock().unwrap().entry(container.to_string()).or_default().push(c);
    }

    /// Drops the consoles of containers that are gone (or whose shells a stop killed).
    pub fn forget(&self, container_prefix: &str) {
        self.idle.lock().unwrap().retain(|name, _| !name.starts_with(container_prefix));
    }
}

/// The line that runs `argv` in a console and frames its output with `nonce`: a start mark
/// (absent, the shell was gone before the command ran), then the end marks on both streams
/// with the exit code. The newline before each end mark is the frame's, not the command's.
pub fn command_line(argv: &[&str], nonce: &str) -> Result<String> {
    let cmd = shlex::try_join(argv.iter().copied())?;
    Ok(format!("printf '%s\\n' {nonce}-s; {cmd} </dev/null; printf '\\n%s %s\\n' {nonce}-e $?; printf '\\n%s\\n' {nonce}-e >&2\n"))
}

/// What a console returned for one command, as it arrives.
#[derive(Default, Debug)]
pub struct Frame {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

/// Where a frame stands.
#[derive(Debug, PartialEq, Eq)]
pub enum Framed {
    /// Not yet started (no start mark): a console that ends here never ran the command.
    NotStarted,
    Running,
    /// Both end marks seen: (exit code, stdout, stderr).
    Done(i64, String, String),
}

impl Frame {
    pub fn push(&mut self, chunk: LogOutput) {
        match chunk {
            LogOutput::StdOut { message } => self.stdout.extend_from_slice(&message),
            LogOutput::StdErr { message } => self.stderr.extend_from_slice(&message),
            _ => {}
        }
    }

    /// Stdout after the start mark; what came before it is a leftover of an earlier command's
    /// background process, not this command's.
    fn body(&self, nonce: &str) -> Option<&[u8]> {
        let start = format!("{nonce}-s\n");
        find(&self.stdout, start.as_bytes()).map(|i| &self.stdout[i + start.len()..])
    }

    pub fn state(&self, nonce: &str) -> Framed {
        let Some(body) = self.body(nonce) else {
            return Framed::NotStarted;
        };
        let end_out = format!("\n{nonce}-e ");
        let end_err = format!("\n{nonce}-e\n");
        // stderr's end mark comes last: stdout is searched for its own only once it is there
        // (a long output arrives in many chunks, each asking again).
        if !self.stderr.ends_with(end_err.as_bytes()) {
            return Framed::Running;
        }
        let Some(o) = find(body, end_out.as_bytes()) else {
            return Framed::Running;
        };
        let tail = &body[o + end_out.len()..];
        let Some(code) = tail.strip_suffix(b"\n").and_then(|t| std::str::from_utf8(t).ok()).and_then(|t| t.parse().ok()) else {
            return Framed::Running;
        };
        let err = &self.stderr[..self.stderr.len() - end_err.len()];
        Framed::Done(code, String::from_utf8_lossy(&body[..o]).into_owned(), String::from_utf8_lossy(err).into_owned())
    }

    /// What arrived so far, for a command that timed out or lost its shell (without the frame).
    pub fn partial(&self, nonce: &str) -> (String, String) {
        let out = self.body(nonce).unwrap_or(&self.stdout);
        (String::from_utf8_lossy(out).into_owned(), String::from_utf8_lossy(&self.stderr).into_owned())
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}

/// Writes one command line to the console.
pub async fn send(c: &mut Console, line: &str) -> std::io::Result<()> {
    c.input.write_all(line.as_bytes()).await?;
    c.input.flush().await
}

/// Reads the console until the command's frame is complete or the shell's stream ends.
pub async fn receive(c: &mut Console, nonce: &str, frame: &mut Frame) -> Result<Framed> {
    while let Some(chunk) = c.output.next().await {
        frame.push(chunk?);
        if let s @ Framed::Done(..) = frame.state(nonce) {
            return Ok(s);
        }
    }
    Ok(frame.state(nonce))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(s: &str) -> LogOutput {
        LogOutput::StdOut { message: s.as_bytes().to_vec().into() }
    }
    fn err(s: &str) -> LogOutput {
        LogOutput::StdErr { message: s.as_bytes().to_vec().into() }
    }

    #[test]
    fn argv_is_quoted_as_one_command_without_stdin() {
        let l = command_line(&["/bin/sh", "-c", "echo 'a b' | wc -c; exit 3"], "N").unwrap();
        assert!(l.starts_with("printf '%s\\n' N-s; /bin/sh -c "), "{l}");
        assert!(l.contains("</dev/null; printf '\\n%s %s\\n' N-e $?;"), "{l}");
        assert!(l.ends_with(">&2\n"));
        assert!(command_line(&["a\0b"], "N").is_err(), "a NUL cannot be passed to a shell");
    }

    #[test]
    fn a_frame_yields_the_commands_output_exit_code_and_stderr_exactly() {
        let mut f = Frame::default();
        assert_eq!(f.state("N"), Framed::NotStarted);
        f.push(out("N-s\nno newline"));
        assert_eq!(f.state("N"), Framed::Running);
        f.push(out("\nN-e 3\n"));
        assert_eq!(f.state("N"), Framed::Running, "stderr's end mark not yet seen");
        f.push(err("oops\n"));
        f.push(err("\nN-e\n"));
        assert_eq!(f.state("N"), Framed::Done(3, "no newline".into(), "oops\n".into()));
    }

    #[test]
    fn a_frame_cut_short_keeps_what_arrived() {
        let mut f = Frame::default();
        f.push(out("N-s\npartial"));
        assert_eq!(f.state("N"), Framed::Running);
        assert_eq!(f.partial("N"), ("partial".into(), String::new()));
        let mut g = Frame::default();
        g.push(out("left by a daemon an earlier command started\n"));
        assert_eq!(g.state("N"), Framed::NotStarted);
        g.push(out("N-s\nmine\n\nN-e 0\n"));
        g.push(err("\nN-e\n"));
        assert_eq!(g.state("N"), Framed::Done(0, "mine\n".into(), String::new()));
    }
}
