//! `status`: each step's cached token, as the store holds it.

use std::time::Duration;

use serde_json::json;
use tokenfetch::{RefreshPolicy, StoredToken};

use crate::exit::{Failure, OK};
use crate::session::Session;

/// One step's row.
struct Row {
    step: String,
    expires_in: Option<Duration>,
    refresh_in: Option<Duration>,
}

/// Each step's token as the store holds it: a new process has nothing in memory,
/// so the store is where a token comes from (`--store none`: nothing is cached).
/// Errors are not kept between runs: `explain` shows a failing step's error.
pub async fn status(session: &Session, as_json: bool) -> Result<u8, Failure> {
    let names = session.file.step_names();
    let (engine, store) = session.engine_and_store(&names)?;
    let policy = RefreshPolicy::default();
    let mut rows = Vec::new();
    for name in names {
        let stored: Option<StoredToken> = match (&store, engine.store_key(name)) {
            (Some(store), Some(key)) => store.load(key).await.map_err(Failure::from)?,
            _ => None,
        };
        let stored = stored.filter(|stored| !stored.remaining().is_zero());
        rows.push(Row {
            step: name.to_owned(),
            expires_in: stored.as_ref().map(StoredToken::remaining),
            refresh_in: stored.as_ref().map(|stored| {
                policy
                    .refresh_after(stored.lifetime(), Duration::ZERO)
                    .saturating_sub(stored.age())
            }),
        });
    }
    if as_json {
        let rows: Vec<serde_json::Value> = rows
            .iter()
            .map(|row| {
                json!({
                    "step": row.step,
                    "cached": row.expires_in.is_some(),
                    "expires_in": row.expires_in.map(|d| d.as_secs()),
                    "refresh_in": row.refresh_in.map(|d| d.as_secs()),
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
    crate::outln!("{:width$}  CACHED  EXPIRES IN  REFRESH IN", "STEP");
    for row in rows {
        crate::outln!(
            "{:width$}  {:6}  {:>10}  {:>10}",
            row.step,
            if row.expires_in.is_some() {
                "yes"
            } else {
                "no"
            },
            row.expires_in.map_or("-".to_owned(), human),
            row.refresh_in.map_or("-".to_owned(), human),
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
