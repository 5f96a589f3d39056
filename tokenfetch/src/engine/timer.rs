//! The due timer: one task per engine that marks each cached entry due at its
//! refresh instant (the hit path then leaves the step to the slow path), and
//! starts a background renewal there when the policy asks for one. A fetch only
//! pushes its entry's deadline on a queue: no task and no timer of its own.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::pin::pin;
use std::sync::{Arc, Mutex, Weak};

use futures_util::future::select;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::Inner;
use super::slot::Entry;

/// An entry's deadline.
struct Due {
    at: Instant,
    index: usize,
    entry: Weak<Entry>,
}

impl PartialEq for Due {
    fn eq(&self, other: &Self) -> bool {
        self.at == other.at
    }
}

impl Eq for Due {}

impl PartialOrd for Due {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Due {
    fn cmp(&self, other: &Self) -> Ordering {
        self.at.cmp(&other.at)
    }
}

/// The deadlines of an engine's entries, and the task that keeps them.
#[derive(Default)]
pub(super) struct DueTimer {
    queue: Mutex<Queue>,
    /// Wakes the task: an earlier deadline came, or the engine is gone.
    wake: Notify,
    closed: std::sync::atomic::AtomicBool,
}

/// What the timer's lock guards.
#[derive(Default)]
struct Queue {
    deadlines: BinaryHeap<Reverse<Due>>,
    task: Option<JoinHandle<()>>,
}

impl DueTimer {
    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Stops the task: the engine is gone.
    pub(super) fn close(&self) {
        self.closed
            .store(true, std::sync::atomic::Ordering::Release);
        self.wake.notify_one();
    }
}

impl Inner {
    /// Schedules `entry` of step `index` to be marked due at its refresh instant.
    pub(super) fn arm(self: &Arc<Self>, index: usize, entry: &Arc<Entry>) {
        let timer = &self.timer;
        let mut queue = timer.lock();
        let deadlines = &mut queue.deadlines;
        let earliest = deadlines
            .peek()
            .is_none_or(|Reverse(first)| entry.refresh_at < first.at);
        // Entries replaced before they came due wait in the queue until their
        // deadline; past a few per step, they are dropped at once.
        if deadlines.len() >= 64.max(4 * self.steps.len()) {
            deadlines.retain(|Reverse(due)| due.entry.strong_count() > 0);
        }
        deadlines.push(Reverse(Due {
            at: entry.refresh_at,
            index,
            entry: Arc::downgrade(entry),
        }));
        // The task runs in the runtime of the first fetch; if that runtime is gone,
        // the next fetch starts it again in its own.
        if queue.task.as_ref().is_none_or(JoinHandle::is_finished) {
            queue.task = Some(tokio::spawn(run(
                Arc::clone(&self.timer),
                Arc::downgrade(self),
            )));
        } else if earliest {
            timer.wake.notify_one();
        }
    }
}

/// The timer's task: sleeps until the earliest deadline (or an earlier one is
/// pushed), marks what came due, and starts background renewals.
async fn run(timer: Arc<DueTimer>, engine: Weak<Inner>) {
    loop {
        let woken = timer.wake.notified();
        let mut woken = pin!(woken);
        woken.as_mut().enable();
        if timer.closed.load(std::sync::atomic::Ordering::Acquire) {
            return;
        }
        let now = Instant::now();
        let mut due = Vec::new();
        let next = {
            let deadlines = &mut timer.lock().deadlines;
            while deadlines
                .peek()
                .is_some_and(|Reverse(first)| first.at <= now)
            {
                due.push(deadlines.pop().expect("peeked").0);
            }
            deadlines.peek().map(|Reverse(first)| first.at)
        };
        for Due { index, entry, .. } in due {
            let Some(entry) = entry.upgrade() else {
                continue;
            };
            entry.mark_due();
            let Some(inner) = engine.upgrade() else {
                return;
            };
            let current = inner.steps[index].slot.entry();
            if inner.refresh.background_value()
                && current.is_some_and(|current| Arc::ptr_eq(&current, &entry))
            {
                tokio::spawn(super::TokenFuture::resolve(&inner, index));
            }
        }
        match next {
            Some(at) => {
                select(pin!(tokio::time::sleep_until(at)), woken).await;
            }
            None => woken.await,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::engine::Engine;
    use crate::model::{Result, TokenData};
    use crate::step::{BoxFuture, Context, TokenFetcher};

    struct Local;

    impl TokenFetcher for Local {
        fn name(&self) -> &str {
            "local"
        }

        fn ttl(&self) -> Option<Duration> {
            Some(Duration::from_secs(3600))
        }

        fn fetch<'a>(&'a self, _: &'a Context) -> BoxFuture<'a, Result<TokenData>> {
            Box::pin(async { Ok(TokenData::new("t")) })
        }
    }

    /// A token replaced long before it is due leaves nothing behind for long: the
    /// queue of deadlines stays small however often the token is renewed.
    #[tokio::test]
    async fn replaced_entries_do_not_pile_up() {
        let engine = Engine::builder().step(Local).build().unwrap();
        for _ in 0..1_000 {
            engine.invalidate("local");
            engine.token_by_name("local").await.unwrap();
        }
        let queued = engine.inner.timer.lock().deadlines.len();
        assert!(queued <= 65, "{queued} deadlines queued");
    }
}
