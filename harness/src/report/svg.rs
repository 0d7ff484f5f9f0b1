//! One scenario's timeline as a self-contained SVG: time axis in seconds, a marker per milestone
//! reached (fault injected → first symptom → recovery started → steady state), coloured by the
//! scenario's outcome. No external fonts or assets, so it renders the same inline or as a file.

use super::common::{escape_xml, outcome_colour, outcome_str};
use crate::judge::model::ScenarioResult;
use std::fmt::Write;

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 150.0;
const LEFT: f64 = 40.0;
const RIGHT: f64 = 40.0;
const AXIS_Y: f64 = 112.0;

/// The milestones of a timeline that were reached, in order, with their labels.
pub fn milestones(s: &ScenarioResult) -> Vec<(&'static str, u64)> {
    let t = &s.timeline;
    [
        ("fault injected", t.fault_injected_ms),
        ("first symptom", t.first_symptom_ms),
        ("recovery started", t.recovery_started_ms),
        ("steady state", t.steady_ms),
    ]
    .into_iter()
    .filter_map(|(label, ms)| ms.map(|ms| (label, ms)))
    .collect()
}

/// A tick spacing in ms that gives at most ~10 ticks over `span_ms`.
fn tick_step(span_ms: u64) -> u64 {
    const STEPS: [u64; 16] =
        [100, 200, 500, 1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000];
    STEPS.into_iter().find(|s| span_ms / s <= 10).unwrap_or(3_600_000 * (span_ms / 36_000_000 + 1))
}

fn secs_label(ms: u64) -> String {
    if ms.is_multiple_of(1000) { format!("{}s", ms / 1000) } else { format!("{:.1}s", ms as f64 / 1000.0) }
}

pub fn timeline(s: &ScenarioResult) -> String {
    let marks = milestones(s);
    let span = marks.iter().map(|m| m.1).chain([s.timeline.end_ms]).max().unwrap_or(0).max(1);
    let x = |ms: u64| LEFT + (WIDTH - LEFT - RIGHT) * (ms as f64 / span as f64);
    let colour = outcome_colour(s.outcome);
    let title = if s.claims.is_empty() { s.name.clone() } else { format!("{} — {}", s.name, s.claims.join(", ")) };

    let mut o = String::new();
    let _ = write!(
        o,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" font-family="sans-serif" font-size="11">"#
    );
    let _ = write!(o, "<title>{}</title>", escape_xml(&title));
    let _ = write!(o, r##"<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>"##);
    let _ = write!(
        o,
        r##"<text x="{LEFT}" y="18" font-size="13" font-weight="bold" fill="#212121">{}</text>"##,
        escape_xml(&title)
    );
    let _ = write!(
        o,
        r##"<text x="{}" y="18" text-anchor="end" fill="{colour}">{}</text>"##,
        WIDTH - RIGHT,
        outcome_str(s.outcome)
    );

    // The outage: from the fault (or first symptom) to steady state, or to the end if never reached.
    if let Some(start) = s.timeline.fault_injected_ms.or(s.timeline.first_symptom_ms) {
        let end = s.timeline.steady_ms.unwrap_or(s.timeline.end_ms).max(start);
        let _ = write!(
            o,
            r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="12" fill="{colour}" fill-opacity="0.18"/>"#,
            x(start),
            AXIS_Y - 12.0,
            x(end) - x(start)
        );
    }

    // Axis and ticks, in seconds.
    let _ = write!(o, r##"<line x1="{LEFT}" y1="{AXIS_Y}" x2="{:.1}" y2="{AXIS_Y}" stroke="#424242"/>"##, WIDTH - RIGHT);
    let step = tick_step(span);
    let mut t = 0;
    while t <= span {
        let _ = write!(
            o,
            r##"<line x1="{0:.1}" y1="{AXIS_Y}" x2="{0:.1}" y2="{1}" stroke="#424242"/><text x="{0:.1}" y="{2}" text-anchor="middle" fill="#424242">{3}</text>"##,
            x(t),
            AXIS_Y + 4.0,
            AXIS_Y + 17.0,
            secs_label(t)
        );
        t += step;
    }
    let _ = write!(
        o,
        r##"<text x="{:.1}" y="{}" text-anchor="end" fill="#757575">end {}</text>"##,
        WIDTH - RIGHT,
        AXIS_Y + 32.0,
        secs_label(s.timeline.end_ms)
    );

    // Milestones: labels staggered over three heights so close markers stay readable.
    for (i, (label, ms)) in marks.iter().enumerate() {
        let label_y = 36.0 + (i % 3) as f64 * 20.0;
        let anchor = if x(*ms) > WIDTH - 150.0 { "end" } else { "start" };
        let dx = if anchor == "end" { -4.0 } else { 4.0 };
        let _ = write!(
            o,
            r#"<g><line x1="{0:.1}" y1="{1}" x2="{0:.1}" y2="{AXIS_Y}" stroke="{colour}" stroke-dasharray="3,2"/><circle cx="{0:.1}" cy="{AXIS_Y}" r="5" fill="{colour}"/><text x="{2:.1}" y="{3}" text-anchor="{anchor}" fill="{colour}">{4} · {5}</text></g>"#,
            x(*ms),
            label_y + 4.0,
            x(*ms) + dx,
            label_y,
            label,
            secs_label(*ms)
        );
    }
    if marks.is_empty() {
        let _ = write!(
            o,
            r##"<text x="{:.1}" y="60" text-anchor="middle" fill="#757575">no milestone reached</text>"##,
            WIDTH / 2.0
        );
    }
    o.push_str("</svg>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::sample_report;

    #[test]
    fn omits_missing_milestones_and_escapes_title() {
        let r = sample_report();
        let errored = r.scenarios.iter().find(|s| s.timeline.steady_ms.is_none() && s.timeline.fault_injected_ms.is_some()).unwrap();
        let svg = timeline(errored);
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("fault injected"));
        assert!(!svg.contains("steady state ·"));
        let mut s = r.scenarios[0].clone();
        s.name = "a<b&c".into();
        assert!(timeline(&s).contains("a&lt;b&amp;c"));
    }

    #[test]
    fn ticks_stay_few() {
        for span in [1, 999, 7_400, 65_000, 600_000, 40_000_000] {
            assert!(span / tick_step(span) <= 10, "{span}");
        }
    }
}
