//! `explain`: fetch a step and show the timeline of that resolution, as a text
//! waterfall or as JSON.

use std::time::Duration;

use serde_json::json;
use tokenfetch::{StepTiming, Timeline};

use crate::exit::{Failure, OK};
use crate::session::Session;

/// The width of the waterfall's bars.
const WIDTH: usize = 40;

pub async fn explain(session: &Session, step: &str, as_json: bool) -> Result<u8, Failure> {
    let engine = session.engine(&[step])?;
    let (result, timeline) = session
        .with_spinner(format!("fetching {step}"), engine.explain(step))
        .await;
    if as_json {
        crate::outln!(
            "{}",
            serde_json::to_string_pretty(&to_json(step, &result, &timeline)).unwrap_or_default()
        );
    } else {
        crate::out!("{}", waterfall(&timeline));
    }
    result.map(|_| OK).map_err(Failure::from)
}

fn millis(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 1000.0 * 10.0).round() / 10.0
}

fn rows(timeline: &Timeline) -> Vec<&StepTiming> {
    let mut rows: Vec<&StepTiming> = timeline.steps.iter().collect();
    rows.sort_by_key(|step| (step.start, step.end));
    rows
}

/// The timeline as JSON: every step with its start and end in milliseconds from
/// the start of the call, origin, requests, status and error.
pub fn to_json(
    step: &str,
    result: &tokenfetch::Result<std::sync::Arc<tokenfetch::TokenData>>,
    timeline: &Timeline,
) -> serde_json::Value {
    let steps: Vec<serde_json::Value> = rows(timeline)
        .into_iter()
        .map(|timing| {
            json!({
                "step": timing.step,
                "start_ms": millis(timing.start),
                "request_start_ms": timing.request_start.map(millis),
                "end_ms": millis(timing.end),
                "origin": timing.origin.map(|origin| origin.as_str()),
                "attempts": timing.attempts,
                "status": timing.status,
                "error": timing.error.as_ref().map(ToString::to_string),
            })
        })
        .collect();
    json!({
        "step": step,
        "ok": result.is_ok(),
        "error": result.as_ref().err().map(ToString::to_string),
        "total_ms": millis(timeline.total),
        "steps": steps,
    })
}

/// One line per step, in the order they started, on the call's time scale: `░`
/// while the step waits (for its dependencies, for the store and its lock), `█`
/// from its own request to its end; where its token came from, requests,
/// duration.
pub fn waterfall(timeline: &Timeline) -> String {
    let rows = rows(timeline);
    let name_width = rows
        .iter()
        .map(|step| step.step.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let total = timeline.total.max(Duration::from_micros(1)).as_secs_f64();
    let column = |at: Duration| ((at.as_secs_f64() / total) * WIDTH as f64).round() as usize;
    let mut out = format!(
        "{:name_width$}  {:WIDTH$}  {}\n",
        "STEP", "TIMELINE", "ORIGIN    REQUESTS  TIME"
    );
    for step in rows {
        let start = column(step.start).min(WIDTH.saturating_sub(1));
        let end = column(step.end).clamp(start + 1, WIDTH);
        let request = step
            .request_start
            .map_or(start, column)
            .clamp(start, end.saturating_sub(1));
        let bar = format!(
            "{}{}{}{}",
            " ".repeat(start),
            "░".repeat(request - start),
            "█".repeat(end - request),
            " ".repeat(WIDTH - end)
        );
        let origin = match (&step.origin, &step.error) {
            (Some(origin), _) => origin.as_str().to_owned(),
            (None, Some(_)) => "failed".to_owned(),
            (None, None) => "-".to_owned(),
        };
        out.push_str(&format!(
            "{:name_width$}  {bar}  {origin:9} {:>8}  {:.1} ms\n",
            step.step,
            step.attempts,
            millis(step.end.saturating_sub(step.start)),
        ));
        if let Some(error) = &step.error {
            out.push_str(&format!("{:name_width$}  {error}\n", ""));
        }
    }
    out.push_str(&format!("total {:.1} ms\n", millis(timeline.total)));
    out
}
