//! Does an observation meet a step's expectation? Pure: the runner records, this decides.

use crate::testbed::engine::ExecOutput;
use crate::dns::probe::Outcome;
use crate::scenario::{Expect, RowWant};
use crate::dns::triage::{row_id, TriageResult};
use std::fmt;

/// What a step produced.
#[derive(Debug, Clone)]
pub enum Observed {
    Probe(Outcome),
    Exec(ExecOutput),
    Triage(TriageResult),
    /// A harness action that completed.
    Done,
}

/// The first expectation that did not hold: field, what was wanted, what came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub field: &'static str,
    pub expected: String,
    pub got: String,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} expected {}, got {}", self.field, self.expected, self.got)
    }
}

fn miss(field: &'static str, expected: impl fmt::Display, got: impl fmt::Display) -> Mismatch {
    Mismatch { field, expected: expected.to_string(), got: got.to_string() }
}

/// Human summary of an expectation, for reports ("outcome timeout, exit 0").
pub fn describe(e: &Expect) -> String {
    let mut parts = Vec::new();
    let mut push = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            parts.push(format!("{k} {v}"));
        }
    };
    push("outcome", e.outcome.map(|o| o.as_str().to_string()));
    push("rcode", e.rcode.map(|r| r.to_string()));
    push("answers", e.answers.map(|b| if b { "present".into() } else { "none".into() }));
    push("answer contains", e.answer_contains.as_ref().map(|s| format!("{s:?}")));
    push("aa", e.aa.map(|b| b.to_string()));
    push("exit", e.exit.map(|c| c.to_string()));
    push("exit not", e.exit_not.map(|c| c.to_string()));
    push("stdout contains", e.stdout_contains.as_ref().map(|s| format!("{s:?}")));
    push("stdout lacks", e.stdout_lacks.as_ref().map(|s| format!("{s:?}")));
    push("stdout matches", e.stdout_matches.as_ref().map(|s| format!("/{s}/")));
    push("output matches", e.output_matches.as_ref().map(|s| format!("/{s}/")));
    push("row", e.row.map(|r| r.as_str().to_string()));
    parts.join(", ")
}

pub fn check(e: &Expect, o: &Observed) -> Result<(), Mismatch> {
    match o {
        Observed::Probe(out) => check_probe(e, out),
        Observed::Exec(x) => check_exec(e, x),
        Observed::Triage(t) => match &e.row {
            Some(r) if *r != RowWant::landed(t.row) => Err(miss("triage row", r.as_str(), row_id(t.row))),
            _ => Ok(()),
        },
        Observed::Done => Ok(()),
    }
}

fn check_probe(e: &Expect, o: &Outcome) -> Result<(), Mismatch> {
    if let Some(want) = e.outcome {
        if !want.admits(o) {
            return Err(miss("outcome", want.as_str(), o.summary()));
        }
    }
    let needs_response = e.rcode.is_some() || e.answers.is_some() || e.answer_contains.is_some() || e.aa.is_some();
    if !needs_response {
        return Ok(());
    }
    let Outcome::Response(r) = o else {
        return Err(miss("outcome", "a response", o.summary()));
    };
    if let Some(want) = e.rcode {
        if want != r.rcode {
            return Err(miss("rcode", want, r.rcode));
        }
    }
    if let Some(want) = e.answers {
        if want == r.answers.is_empty() {
            return Err(miss("answers", if want { "present" } else { "none" }, format!("{} answer(s)", r.answers.len())));
        }
    }
    if let Some(s) = &e.answer_contains {
        if !r.answers.iter().any(|a| a.data.contains(s.as_str())) {
            return Err(miss("answer", format!("containing {s:?}"), o.summary()));
        }
    }
    if let Some(want) = e.aa {
        if want != r.aa {
            return Err(miss("aa flag", want, r.aa));
        }
    }
    Ok(())
}

fn check_exec(e: &Expect, x: &ExecOutput) -> Result<(), Mismatch> {
    let code = || x.exit_code.map_or("timeout".to_string(), |c| c.to_string());
    if let Some(want) = e.exit {
        if x.exit_code != Some(want) {
            return Err(miss("exit", want, format!("{} ({})", code(), x.summary(160))));
        }
    }
    if let Some(not) = e.exit_not {
        if x.exit_code == Some(not) || x.exit_code.is_none() {
            return Err(miss("exit", format!("not {not}"), code()));
        }
    }
    if let Some(s) = &e.stdout_contains {
        if !x.stdout.contains(s.as_str()) {
            return Err(miss("stdout", format!("containing {s:?}"), format!("{:?}", crate::testbed::engine::trim_chars(x.stdout.trim(), 200))));
        }
    }
    if let Some(s) = &e.stdout_lacks {
        if x.stdout.contains(s.as_str()) {
            return Err(miss("stdout", format!("without {s:?}"), format!("{:?}", crate::testbed::engine::trim_chars(x.stdout.trim(), 200))));
        }
    }
    if let Some(re) = &e.stdout_matches {
        let re = regex::Regex::new(re).map_err(|err| miss("stdout_matches", "a valid regex", err))?;
        if !re.is_match(&x.stdout) {
            return Err(miss("stdout", format!("matching /{re}/"), format!("{:?}", crate::testbed::engine::trim_chars(x.stdout.trim(), 200))));
        }
    }
    if let Some(re) = &e.output_matches {
        let re = regex::Regex::new(re).map_err(|err| miss("output_matches", "a valid regex", err))?;
        let all = format!("{}\n{}", x.stdout, x.stderr);
        if !re.is_match(&all) {
            return Err(miss("output", format!("matching /{re}/"), format!("{:?}", crate::testbed::engine::trim_chars(all.trim(), 200))));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::probe::{Answer, Rcode, Response};
    use proptest::prelude::*;

    fn resp(rcode: Rcode, answers: usize, aa: bool) -> Outcome {
        Outcome::Response(Response {
            rcode,
            aa,
            ra: true,
            tc: false,
            answers: (0..answers).map(|i| Answer { name: "x.".into(), rtype: "A".into(), ttl: 60, data: format!("192.0.2.{i}") }).collect(),
            elapsed_ms: 1,
        })
    }

    fn exec(code: Option<i64>, out: &str, err: &str) -> Observed {
        Observed::Exec(ExecOutput { exit_code: code, stdout: out.into(), stderr: err.into() })
    }

    #[test]
    fn probe_expectations() {
        let e = Expect { outcome: Some(crate::scenario::OutcomeWant::Timeout), ..Default::default() };
        assert!(check(&e, &Observed::Probe(Outcome::Timeout)).is_ok());
        let m = check(&e, &Observed::Probe(resp(Rcode::Refused, 0, false))).unwrap_err();
        assert_eq!(m.field, "outcome");
        assert!(m.to_string().contains("expected timeout, got REFUSED"), "{m}");
        let nr = Expect { outcome: Some(crate::scenario::OutcomeWant::NoReply), ..Default::default() };
        assert!(check(&nr, &Observed::Probe(Outcome::Refused)).is_ok());
        assert!(check(&nr, &Observed::Probe(resp(Rcode::NoError, 1, false))).is_err());
        let r = Expect { rcode: Some(crate::dns::probe::Rcode::Refused), answers: Some(false), ..Default::default() };
        assert!(check(&r, &Observed::Probe(resp(Rcode::Refused, 0, false))).is_ok());
        assert_eq!(check(&r, &Observed::Probe(Outcome::Timeout)).unwrap_err().field, "outcome");
        let a = Expect { answer_contains: Some("192.0.2.1".into()), aa: Some(true), ..Default::default() };
        assert!(check(&a, &Observed::Probe(resp(Rcode::NoError, 2, true))).is_ok());
        assert_eq!(check(&a, &Observed::Probe(resp(Rcode::NoError, 2, false))).unwrap_err().field, "aa flag");
    }

    #[test]
    fn exec_expectations() {
        let e = Expect { exit: Some(0), stdout_contains: Some("ok".into()), ..Default::default() };
        assert!(check(&e, &exec(Some(0), "ok\n", "")).is_ok());
        assert_eq!(check(&e, &exec(Some(1), "ok", "")).unwrap_err().field, "exit");
        assert_eq!(check(&e, &exec(None, "ok", "")).unwrap_err().field, "exit");
        assert_eq!(check(&e, &exec(Some(0), "nope", "")).unwrap_err().field, "stdout");
        let n = Expect { exit_not: Some(0), output_matches: Some("(?i)failed".into()), ..Default::default() };
        assert!(check(&n, &exec(Some(3), "", "Job FAILED")).is_ok());
        assert!(check(&n, &exec(Some(0), "", "failed")).is_err());
        let l = Expect { stdout_lacks: Some("x".into()), ..Default::default() };
        assert!(check(&l, &exec(Some(0), "xyz", "")).is_err());
        assert!(check(&l, &exec(Some(0), "abc", "")).is_ok());
    }

    #[test]
    fn triage_row_expectation() {
        use crate::dns::triage::{Observation, Reply, VmState};
        let t = TriageResult::new(Observation { recursor: Reply::NoReply, auth: Reply::Ok, ping: Reply::Ok, vm: VmState::Running });
        let e = Expect { row: Some(RowWant::Row(crate::dns::triage::Row::Tri2)), ..Default::default() };
        assert!(check(&e, &Observed::Triage(t.clone())).is_ok());
        let e3 = Expect { row: Some(RowWant::Row(crate::dns::triage::Row::Tri3)), ..Default::default() };
        assert_eq!(check(&e3, &Observed::Triage(t)).unwrap_err().to_string(), "triage row expected TRI-3, got TRI-2");
    }

    proptest! {
        /// An empty expectation holds for anything; a failing check always names its field.
        #[test]
        fn empty_expect_always_holds(code in proptest::option::of(-5i64..300), out in ".{0,40}") {
            prop_assert!(check(&Expect::default(), &exec(code, &out, "")).is_ok());
        }

        #[test]
        fn exit_expectation_is_exact(want in -5i64..300, got in proptest::option::of(-5i64..300)) {
            let e = Expect { exit: Some(want), ..Default::default() };
            let r = check(&e, &exec(got, "", ""));
            prop_assert_eq!(r.is_ok(), got == Some(want));
        }

        #[test]
        fn contains_agrees_with_str_contains(needle in "[a-c]{1,3}", hay in "[a-d]{0,12}") {
            let e = Expect { stdout_contains: Some(needle.clone()), ..Default::default() };
            prop_assert_eq!(check(&e, &exec(Some(0), &hay, "")).is_ok(), hay.contains(&needle));
        }
    }
}
