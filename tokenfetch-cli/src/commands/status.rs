//! `status`: each step's cached token, as the store (and this process) holds it.

use std::time::Duration;

use serde_json::json;
use tokenfetch::{RefreshPolicy, StoredToken};

use crate::exit::{Failure, OK};
use crate::session::Session;

/// One step's row.
struct Row {
    step: String,
    cached: bool,
    expires_in: Option<Duration>,
    refresh_in: Option<Duration>,
    origin: &'static str,
    last_error: Option<String>,
}

pub async fn status(session: &Session, as_json: bool) -> Result<u8, Failure> {
    let names = session.file.step_names();
    let (engine, store) = session.engine_and_store(&names)?;
    let policy = RefreshPolicy::default();
    let mut rows = Vec::new();
    for state in engine.snapshot() {
        let stored: Option<StoredToken> = match (&store, engine.store_key(&state.name)) {
            (Some(store), Some(key)) => store.load(key).await.map_err(Failure::from)?,
            _ => None,
        };
        let row = match stored {
            Some(stored) if !state.cached && !stored.remaining().is_zero() => {
                let renew = policy.refresh_after(stored.lifetime(), Duration::ZERO);
                Row {
                    step: state.name.clone(),
                    cached: true,
                    expires_in: Some(stored.remaining()),
                    refresh_in: Some(renew.saturating_sub(stored.age())),
                    origin: "store",
                    last_error: None,
                }
            }
            _ => Row {
                step: state.name.clone(),
                cached: state.cached,
                expires_in: state.expires_in,
                refresh_in: state.refresh_in,
                origin: state.origin.map_or("-", |origin| origin.as_str()),
                last_error: state.last_error.as_ref().map(ToString::to_string),
            },
        };
        rows.push(row);
    }
    if as_json {
        let rows: Vec<serde_json::Value> = rows
            .iter()
            .map(|row| {
                json!({
                    "step": row.step,
                    "cached": row.cached,
                    "expires_in_s": row.expires_in.map(|d| d.as_secs()),
                    "refresh_in_s": row.refresh_in.map(|d| d.as_secs()),
                    "origin": row.origin,
                    "last_error": row.last_error,
                })
            })
            .collect();
        crate::outln!(
            "{}",
            serde_json::to_string_pretty(&rows).unwrap_or_default()
        );
        return Ok(OK);
    }
    let width = rows
        .iter()
        .map(|row| row.step.len())
        .max()
        .unwrap_or(4)
        .max(4);
    crate::outln!(
        "{:width$}  CACHED  EXPIRES IN  REFRESH IN  ORIGIN  LAST ERROR",
        "STEP"
    );
    for row in rows {
        crate::outln!(
            "{:width$}  {:6}  {:>10}  {:>10}  {:6}  {}",
            row.step,
            if row.cached { "yes" } else { "no" },
            row.expires_in.map_or("-".to_owned(), human),
            row.refresh_in.map_or("-".to_owned(), human),
            row.origin,
            row.last_error.as_deref().unwrap_or("-"),
        );
    }
    Ok(OK)
}

/// `1d 2h`, `5m 3s`, `42s`: the largest unit and the next.
pub fn human(duration: Duration) -> String {
    const UNITS: [(u64, &str); 4] = [(86_400, "d"), (3_600, "h"), (60, "m"), (1, "s")];
    let seconds = duration.as_secs();
    let Some(first) = UNITS.iter().position(|(size, _)| seconds >= *size) else {
        return "0s".to_owned();
    };
    let (size, unit) = UNITS[first];
    let mut text = format!("{}{unit}", seconds / size);
    if let Some((next, next_unit)) = UNITS.get(first + 1) {
        let rest = (seconds % size) / next;
        if rest > 0 {
            text.push_str(&format!(" {rest}{next_unit}"));
        }
    }
    text
}
