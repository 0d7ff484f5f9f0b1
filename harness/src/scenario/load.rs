//! Reading scenario files: the TOML parsed, then every rule a file must keep checked before
//! anything runs (one error naming the file and the field).

use crate::claims::Part;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use super::{Action, Fault, Rebuild, RebuildFrom, Scenario, Step, StepTable, TimingSpan, plan};

/// A problem in a scenario file, naming the file and (where known) the line and field.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct ScenarioError {
    pub file: String,
    pub message: String,
}

impl Scenario {
    pub fn parse(file: &str, text: &str) -> Result<Scenario, ScenarioError> {
        let err = |message: String| ScenarioError { file: file.to_string(), message };
        step_rules(text).map_err(err)?;
        let mut s: Scenario = toml::from_str(text).map_err(|e| err(e.to_string().trim_end().to_string()))?;
        s.file = PathBuf::from(file);
        let steps = s.symptoms.iter().map(|x| ("symptom", x)).chain(s.recovery.iter().map(|x| ("recover", x)));
        let steps: Vec<(&str, &Step)> = steps.chain(s.corrections.iter().flat_map(|c| c.steps.iter().map(|x| ("correction", x)))).collect();
        for (i, (table, st)) in steps.iter().enumerate() {
            let at = |m: &str| err(format!("[[{table}]] #{}: {m}", i + 1));
            for re in [&st.expect.stdout_matches, &st.expect.output_matches].into_iter().flatten() {
                // Placeholders become literal text before the regex is compiled.
                let mut masked = re.clone();
                for (start, end, _) in plan::placeholders(re).into_iter().rev() {
                    masked.replace_range(start..end, "x");
                }
                regex::Regex::new(&masked).map_err(|e| at(&format!("bad regex in expect: {e}")))?;
            }
            for c in st.claims.iter().flatten() {
                if !s.claims.contains(c) {
                    return Err(at(&format!("step names claim {c}, which the scenario's `claims` does not list")));
                }
            }
            // A step with an expectation checks one part of the claims it bears on: one they
            // state (its own `part`, or its table's).
            let table_kind = match *table {
                "symptom" => StepTable::Symptom,
                "recover" => StepTable::Recover,
                _ => StepTable::Correction,
            };
            let bearing = st.claims.as_deref().unwrap_or(&s.claims);
            if let (Some(part), false, false) = (Scenario::step_part(st, table_kind), st.expect.is_empty(), bearing.is_empty()) {
                if !bearing.iter().any(|c| c.claim().parts.contains(&part)) {
                    let ids: Vec<&str> = bearing.iter().map(|c| c.as_str()).collect();
                    return Err(at(&format!(
                        "the step checks the {part} part{}, which none of its claims ({}) states; set `part` (or `claims`)",
                        if st.part.is_none() { " (its table's default)" } else { "" },
                        ids.join(", ")
                    )));
                }
            }
        }
        for f in &s.faults {
            if let Fault::EditFile { append, set, replace, with, content, .. } = f {
                let n = [append.is_some(), set.is_some(), replace.is_some(), content.is_some()].iter().filter(|b| **b).count();
                if n != 1 || replace.is_some() != with.is_some() {
                    return Err(err("[[fault]] edit-file: give exactly one of `append`, `set`, `replace` (with `with`), `content`".into()));
                }
            }
            if matches!(f, Fault::Setting { .. }) && f.setting_edit().is_none() {
                return Err(err("[[fault]] setting: give exactly one of `set`, `remove = true`, `remove-item`, `add-item`, `replace-item` with `with`, `replace` with `with`".into()));
            }
        }
        for (i, line) in text.lines().enumerate() {
            if let Some((_, _, name)) = plan::placeholders(line).into_iter().find(|p| !plan::is_known(p.2)) {
                return Err(err(format!("line {}: `{{{name}}}` is not a placeholder ({})", i + 1, plan::VOCABULARY)));
            }
        }
        for n in &s.not_simulated {
            if let Some(part) = n.part {
                if !n.claim.claim().parts.contains(&part) {
                    return Err(err(format!("[[not-simulated]] {}: the claim states no {part} part", n.claim)));
                }
            }
        }
        for m in &s.monitors {
            if !s.claims.iter().any(|c| c.as_str() == m.claim()) {
                return Err(err(format!("`monitors` expects {m} to notice the fault: the scenario must decide {} too", m.claim())));
            }
        }
        for t in &s.timings {
            if !s.claims.contains(&t.claim) || !t.claim.claim().parts.contains(&Part::Timing) {
                return Err(err(format!("[[timing]] for {}: the scenario must decide it and the claim must state a timing", t.claim)));
            }
            if t.span == TimingSpan::Rebuild && !s.recovery.iter().any(|st| matches!(st.action, Action::Rebuild(Rebuild { from: RebuildFrom::Packages, .. }))) {
                return Err(err(format!("[[timing]] for {}: span `rebuild` needs a [[recover]] step `action = \"rebuild-vm\"` with `from = \"packages\"`", t.claim)));
            }
        }
        if s.faults.is_empty() && s.symptoms.is_empty() && s.recovery.is_empty() && s.not_simulated.is_empty() {
            return Err(err("the scenario has no fault, symptom, recover or not-simulated entry".into()));
        }
        Ok(s)
    }

    pub fn load(path: &Path) -> Result<Scenario> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Ok(Scenario::parse(&path.display().to_string(), &text)?)
    }
}

/// A step that breaks a rule of its own (two actions, an option of another action) named by its
/// table and number: toml would point every `[[symptom]]` error at the first one's header.
/// Anything else wrong is left to the full parse, which names the line.
fn step_rules(text: &str) -> Result<(), String> {
    let Ok(doc) = toml::from_str::<toml::Table>(text) else { return Ok(()) };
    let array = |t: &toml::Table, key: &str| t.get(key).and_then(|v| v.as_array()).cloned().unwrap_or_default();
    let mut tables: Vec<(String, Vec<toml::Value>)> = vec![("[[symptom]]".into(), array(&doc, "symptom")), ("[[recover]]".into(), array(&doc, "recover"))];
    for c in array(&doc, "correction").iter() {
        if let Some(c) = c.as_table() {
            tables.push(("[[correction]]".into(), array(c, "step")));
        }
    }
    // Numbered across the tables, as the rules checked after parsing number them.
    let mut n = 0;
    for (table, steps) in tables {
        for v in steps {
            n += 1;
            let Ok(f) = v.try_into::<super::step::StepFile>() else { continue };
            Step::try_from(f).map_err(|m| format!("{table} #{n}: {m}"))?;
        }
    }
    Ok(())
}

/// Every `*.toml` in `dir`, sorted by name; all files are checked before anything runs.
pub fn load_dir(dir: &Path) -> Result<Vec<Scenario>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading scenario dir {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for p in &paths {
        match Scenario::load(p) {
            Ok(s) => out.push(s),
            Err(e) => errors.push(format!("{e:#}")),
        }
    }
    if !errors.is_empty() {
        anyhow::bail!("{} bad scenario file(s):\n{}", errors.len(), errors.join("\n"));
    }
    let mut names: Vec<&str> = out.iter().map(|s| s.name.as_str()).collect();
    names.sort();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        anyhow::bail!("two scenarios are named `{}`", w[0]);
    }
    Ok(out)
}
