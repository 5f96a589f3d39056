//! [`SharedFetch`]: a step's load in flight, shared by every caller that wants the
//! step meanwhile. Whichever caller is polled drives it. When it makes progress
//! every waiting caller is woken, so that any of them can drive it, whichever
//! runs; the first to poll polls the load, and the others only wait again. When
//! it completes, every caller but the one that completed it (which has its
//! answer already) is woken. A load with a single caller is polled with that
//! caller's own waker, so that its progress wakes the caller directly; the first
//! poll by a second caller registers the shared waker instead. A panic in the
//! load is an [`Internal`](crate::ErrorKind::Internal) error for every caller. A
//! caller dropped after a wake and before it polled again passes the wake on to
//! the callers still waiting, so that the load is driven on. When the last
//! caller goes away before the load is done, a task of its own finishes it, so
//! that it still caches its token and releases its store lock for the next
//! callers. Where no task can take it (outside a runtime, or in one shutting
//! down) it is dropped: its connections and timers may have gone with its
//! runtime, and it holds the engine, which it would otherwise keep alive (a
//! store lock it held then runs out with its lease).

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

use crate::model::{Error, ErrorKind, Result, TokenData};
use crate::step::BoxFuture;

type Output = Result<Arc<TokenData>>;

/// A load that every caller of its step shares.
pub(crate) struct SharedFetch {
    state: Mutex<State>,
}

struct State {
    stage: Stage,
    /// One place per caller waiting, for its waker while it waits; `None` once
    /// it is woken, until it polls again.
    wakers: Vec<Option<Waker>>,
    /// The places of callers gone, for the next ones.
    free: Vec<usize>,
    /// The callers still waiting.
    callers: usize,
    /// Whether the next caller that finds the load idle polls it: it was never
    /// polled, or it asked to be polled again since, or it was last polled with
    /// a single caller's own waker (whose wakes are not seen here). Otherwise
    /// the caller only waits: each bit of progress polls the load once, however
    /// many callers are woken for it.
    poll_due: bool,
}

enum Stage {
    /// The load; `None` while a caller polls it.
    Running(Option<BoxFuture<'static, Output>>),
    Done(Output),
}

impl SharedFetch {
    /// A shared fetch of `load`, which nobody has polled yet.
    pub(crate) fn new(load: BoxFuture<'static, Output>) -> Arc<Self> {
        Arc::new(SharedFetch {
            state: Mutex::new(State {
                stage: Stage::Running(Some(load)),
                wakers: Vec::new(),
                free: Vec::new(),
                callers: 0,
                poll_due: true,
            }),
        })
    }

    /// A new caller's wait for the load's output, unless the load is over (its
    /// output is known, or it was dropped unfinished): then `None`, and the
    /// engine starts a new load.
    pub(crate) fn try_join(self: &Arc<Self>) -> Option<Joined> {
        let mut state = self.lock();
        match state.stage {
            Stage::Running(_) => Some(self.joined(&mut state, true)),
            Stage::Done(_) => None,
        }
    }

    /// A new caller's wait for the load's output, whatever its stage.
    #[cfg(test)]
    pub(crate) fn join(self: &Arc<Self>) -> Joined {
        self.joined(&mut self.lock(), true)
    }

    /// Registers a caller, under the lock.
    fn joined(self: &Arc<Self>, state: &mut State, hands_off: bool) -> Joined {
        let key = match state.free.pop() {
            Some(key) => key,
            None => {
                state.wakers.push(None);
                state.wakers.len() - 1
            }
        };
        state.callers += 1;
        Joined {
            fetch: Arc::clone(self),
            key,
            done: false,
            hands_off,
        }
    }

    /// A panic while the lock was held leaves the state whole (the load is polled
    /// outside it), so a poisoned lock is simply taken over.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl State {
    /// Wakes every waiting caller but `except`, each once.
    fn wake_all(&mut self, except: Option<usize>) {
        for (key, waker) in self.wakers.iter_mut().enumerate() {
            if Some(key) != except
                && let Some(waker) = waker.take()
            {
                waker.wake();
            }
        }
    }
}

/// The load's waker: progress wakes every waiting caller, whichever of them
/// polls next drives the load.
impl Wake for SharedFetch {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let mut state = self.lock();
        state.poll_due = true;
        state.wake_all(None);
    }
}

/// The error every caller gets when the load panicked.
#[cold]
fn panicked() -> Error {
    Error::new(ErrorKind::Internal, "the step's fetch panicked")
}

/// The error of a load dropped unfinished because no task could take it over.
#[cold]
fn abandoned_load() -> Error {
    Error::new(
        ErrorKind::Internal,
        "the step's fetch was dropped unfinished: its last caller went away where no task could finish it (outside a runtime, or in one shutting down)",
    )
}

/// One caller's wait on a [`SharedFetch`].
pub(crate) struct Joined {
    fetch: Arc<SharedFetch>,
    key: usize,
    done: bool,
    /// Whether dropping it before the load is done hands the load to a task. The
    /// task's own wait does not: dropped, its runtime is shutting down (where a
    /// new task is dropped at once), and the load is dropped.
    hands_off: bool,
}

impl Future for Joined {
    type Output = Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Output> {
        let this = &mut *self;
        let (mut load, alone) = {
            let mut guard = this.fetch.lock();
            let state = &mut *guard;
            let alone = state.callers == 1;
            match &mut state.stage {
                Stage::Done(output) => {
                    let output = output.clone();
                    this.done = true;
                    return Poll::Ready(output);
                }
                Stage::Running(load) => {
                    let load = if state.poll_due { load.take() } else { None };
                    let waker = &mut state.wakers[this.key];
                    if !waker
                        .as_ref()
                        .is_some_and(|known| known.will_wake(cx.waker()))
                    {
                        *waker = Some(cx.waker().clone());
                    }
                    match load {
                        Some(load) => {
                            state.poll_due = false;
                            (load, alone)
                        }
                        // Another caller is polling it, or it waits for its
                        // progress: this one is woken with the others.
                        None => return Poll::Pending,
                    }
                }
            }
        };
        let shared;
        let waker = if alone {
            cx.waker()
        } else {
            shared = Waker::from(Arc::clone(&this.fetch));
            &shared
        };
        let polled = std::panic::catch_unwind(AssertUnwindSafe(|| {
            load.as_mut().poll(&mut Context::from_waker(waker))
        }));
        let output = match polled {
            Ok(Poll::Pending) => {
                let mut state = this.fetch.lock();
                state.stage = Stage::Running(Some(load));
                state.poll_due |= alone;
                if alone && state.callers > 1 {
                    // Callers joined while the load was polled with this one's
                    // waker: one of them polls it again, with the shared waker.
                    state.wake_all(Some(this.key));
                }
                return Poll::Pending;
            }
            Ok(Poll::Ready(output)) => output,
            Err(_) => Err(panicked()),
        };
        drop(load);
        let mut state = this.fetch.lock();
        state.stage = Stage::Done(output.clone());
        state.wakers[this.key] = None;
        state.wake_all(Some(this.key));
        this.done = true;
        Poll::Ready(output)
    }
}

impl Drop for Joined {
    fn drop(&mut self) {
        let mut state = self.fetch.lock();
        // Woken and not polled since: the wake may have been the load's call to
        // be polled again, so it goes to the callers still waiting.
        let woken = state.wakers[self.key].take().is_none();
        state.free.push(self.key);
        state.callers -= 1;
        let running = !self.done && matches!(state.stage, Stage::Running(_));
        if running && woken && state.callers > 0 {
            state.wake_all(None);
        }
        if !(running && state.callers == 0) {
            return;
        }
        // Abandoned: a task of its own finishes the load (its wait is
        // registered under this lock, so that no caller finds the load
        // abandoned meanwhile), or, where no task can, the load is dropped.
        let runtime = self
            .hands_off
            .then(|| tokio::runtime::Handle::try_current().ok())
            .flatten();
        match runtime {
            Some(runtime) => {
                let task = self.fetch.joined(&mut state, false);
                drop(state);
                runtime.spawn(task);
            }
            None => {
                let load = match &mut state.stage {
                    Stage::Running(load) => load.take(),
                    Stage::Done(_) => None,
                };
                state.stage = Stage::Done(Err(abandoned_load()));
                drop(state);
                // Outside the lock: the load's end takes its slot's lock.
                drop(load);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use futures_util::FutureExt;
    use tokio::sync::oneshot;

    use super::*;

    /// A waker that counts its wakes.
    #[derive(Default)]
    struct Counter(AtomicUsize);

    impl Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Polls `joined` once, as the task of `waker`.
    fn poll(joined: &mut Joined, waker: &Waker) -> Poll<Output> {
        joined.poll_unpin(&mut Context::from_waker(waker))
    }

    fn load(answer: oneshot::Receiver<&'static str>) -> BoxFuture<'static, Output> {
        Box::pin(async move { Ok(Arc::new(TokenData::new(answer.await.unwrap()))) })
    }

    /// The caller that completes the load is not woken for it, and every other
    /// caller is woken once.
    #[test]
    fn completing_the_load_wakes_the_others_not_the_completer() {
        let (send, receive) = oneshot::channel();
        let fetch = SharedFetch::new(load(receive));
        let (mut first, mut second) = (fetch.join(), fetch.join());
        let (first_waker, second_waker) =
            (Arc::new(Counter::default()), Arc::new(Counter::default()));
        let waker = Waker::from(Arc::clone(&first_waker));
        assert!(poll(&mut first, &waker).is_pending());
        let other = Waker::from(Arc::clone(&second_waker));
        assert!(poll(&mut second, &other).is_pending());
        send.send("t").unwrap();
        // The load's progress wakes both.
        assert_eq!(first_waker.0.load(Ordering::SeqCst), 1);
        assert_eq!(second_waker.0.load(Ordering::SeqCst), 1);
        let Poll::Ready(token) = poll(&mut first, &waker) else {
            panic!("the load is done");
        };
        assert_eq!(token.unwrap().access_token().expose(), "t");
        assert_eq!(
            first_waker.0.load(Ordering::SeqCst),
            1,
            "the completer was woken again"
        );
        let Poll::Ready(token) = poll(&mut second, &other) else {
            panic!("the load is done");
        };
        assert_eq!(token.unwrap().access_token().expose(), "t");
    }

    /// A caller that is woken and dropped before it polls again passes the wake
    /// on: here the load asks to be polled again while the caller driving it
    /// polls, a second caller polling meanwhile finds it taken and waits, and
    /// the driving caller is then dropped.
    #[test]
    fn a_caller_dropped_after_a_wake_passes_it_on() {
        type Waiting = Arc<Mutex<Option<(Joined, Waker)>>>;
        let waiting: Waiting = Arc::default();
        let load = {
            let waiting = Arc::clone(&waiting);
            let mut polls = 0;
            Box::pin(std::future::poll_fn(move |cx| {
                polls += 1;
                if polls > 1 {
                    return Poll::Ready(Ok(Arc::new(TokenData::new("t"))));
                }
                cx.waker().wake_by_ref();
                let mut waiting = waiting.lock().unwrap();
                let (other, waker) = waiting.as_mut().unwrap();
                assert!(poll(other, waker).is_pending());
                Poll::Pending
            }))
        };
        let fetch = SharedFetch::new(load);
        let other_waker = Arc::new(Counter::default());
        *waiting.lock().unwrap() = Some((fetch.join(), Waker::from(Arc::clone(&other_waker))));
        let mut driving = fetch.join();
        let waker = Waker::from(Arc::new(Counter::default()));
        assert!(poll(&mut driving, &waker).is_pending());
        assert_eq!(other_waker.0.load(Ordering::SeqCst), 0);
        drop(driving);
        assert_eq!(
            other_waker.0.load(Ordering::SeqCst),
            1,
            "the waiting caller was not woken: nobody drives the load"
        );
        let (mut other, waker) = waiting.lock().unwrap().take().unwrap();
        let Poll::Ready(token) = poll(&mut other, &waker) else {
            panic!("the load is done on its second poll");
        };
        assert_eq!(token.unwrap().access_token().expose(), "t");
    }

    /// A load polled with its single caller's waker, while a second caller
    /// joined and found it being polled, wakes the second caller after the
    /// poll: its next poll registers the shared waker, so that the load's
    /// progress reaches every caller.
    #[test]
    fn a_caller_that_joins_during_a_single_callers_poll_is_woken_after_it() {
        type Joining = Arc<Mutex<Option<(Arc<SharedFetch>, Waker)>>>;
        let joining: Joining = Arc::default();
        let second: Arc<Mutex<Option<Joined>>> = Arc::default();
        let wakers: Arc<Mutex<Vec<Waker>>> = Arc::default();
        let load = {
            let (joining, second, wakers) = (
                Arc::clone(&joining),
                Arc::clone(&second),
                Arc::clone(&wakers),
            );
            Box::pin(std::future::poll_fn(move |cx| {
                wakers.lock().unwrap().push(cx.waker().clone());
                if let Some((fetch, waker)) = joining.lock().unwrap().take() {
                    let mut joined = fetch.join();
                    assert!(poll(&mut joined, &waker).is_pending());
                    *second.lock().unwrap() = Some(joined);
                }
                Poll::<Output>::Pending
            }))
        };
        let fetch = SharedFetch::new(load);
        let second_waker = Arc::new(Counter::default());
        *joining.lock().unwrap() =
            Some((Arc::clone(&fetch), Waker::from(Arc::clone(&second_waker))));
        let first_waker = Arc::new(Counter::default());
        let mut first = fetch.join();
        assert!(poll(&mut first, &Waker::from(Arc::clone(&first_waker))).is_pending());
        assert_eq!(
            second_waker.0.load(Ordering::SeqCst),
            1,
            "the second caller was not woken: the load knows only the first one's waker"
        );
        let mut second = second.lock().unwrap().take().unwrap();
        assert!(poll(&mut second, &Waker::from(Arc::clone(&second_waker))).is_pending());
        // The load now holds the shared waker: its progress wakes both callers.
        wakers.lock().unwrap().last().unwrap().wake_by_ref();
        assert_eq!(first_waker.0.load(Ordering::SeqCst), 1);
        assert_eq!(second_waker.0.load(Ordering::SeqCst), 2);
    }

    /// However many callers wait, the load is polled once per bit of progress:
    /// every caller is woken (any of them may drive it), the first to poll
    /// polls the load, the others find nothing to do and wait again.
    #[test]
    fn each_bit_of_progress_polls_the_load_once_however_many_wait() {
        let polls = Arc::new(AtomicUsize::new(0));
        let waker_of_load: Arc<Mutex<Option<Waker>>> = Arc::default();
        let load = {
            let (polls, waker_of_load) = (Arc::clone(&polls), Arc::clone(&waker_of_load));
            Box::pin(std::future::poll_fn(move |cx| {
                polls.fetch_add(1, Ordering::SeqCst);
                *waker_of_load.lock().unwrap() = Some(cx.waker().clone());
                Poll::<Output>::Pending
            }))
        };
        let fetch = SharedFetch::new(load);
        let counter = Arc::new(Counter::default());
        let waker = Waker::from(Arc::clone(&counter));
        let mut callers: Vec<Joined> = (0..100).map(|_| fetch.join()).collect();
        for caller in &mut callers {
            assert!(poll(caller, &waker).is_pending());
        }
        assert_eq!(polls.load(Ordering::SeqCst), 1, "joining polled the load");
        let progress = waker_of_load.lock().unwrap().take().unwrap();
        progress.wake();
        assert_eq!(
            counter.0.load(Ordering::SeqCst),
            100,
            "a caller was not woken"
        );
        for caller in &mut callers {
            assert!(poll(caller, &waker).is_pending());
        }
        assert_eq!(
            polls.load(Ordering::SeqCst),
            2,
            "one bit of progress polled the load more than once"
        );
    }

    /// The places of callers gone are taken by the next ones.
    #[test]
    fn waker_places_are_reused() {
        let (_send, receive) = oneshot::channel();
        let fetch = SharedFetch::new(load(receive));
        let kept = fetch.join();
        for _ in 0..1_000 {
            drop(fetch.join());
        }
        assert_eq!(fetch.lock().wakers.len(), 2);
        drop(kept);
    }

    /// A load whose last caller goes away outside a runtime, where no task can
    /// take it, is dropped (it holds the engine), and is over for anyone who
    /// joins it still.
    #[test]
    fn an_abandoned_load_outside_a_runtime_is_dropped() {
        let (send, receive) = oneshot::channel();
        let fetch = SharedFetch::new(load(receive));
        let mut first = fetch.join();
        let waker = Waker::from(Arc::new(Counter::default()));
        assert!(poll(&mut first, &waker).is_pending());
        drop(first);
        assert!(send.is_closed(), "the load was kept");
        assert!(fetch.try_join().is_none(), "an abandoned load was joined");
        let error = fetch.join().now_or_never().expect("ready").unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Internal);
    }

    /// The task a load was handed to is dropped with its runtime: it does not
    /// hand the load on (a runtime shutting down drops a new task at once, which
    /// would hand it on again, without end), and the load is dropped with it.
    #[test]
    fn a_load_handed_to_a_task_is_dropped_with_the_runtime() {
        let (send, receive) = oneshot::channel();
        let fetch = SharedFetch::new(load(receive));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut first = fetch.join();
            let waker = Waker::from(Arc::new(Counter::default()));
            assert!(poll(&mut first, &waker).is_pending());
        });
        assert!(!send.is_closed(), "a task of its own holds the load");
        drop(runtime);
        assert!(send.is_closed(), "the load outlived its runtime");
        assert!(fetch.try_join().is_none(), "an abandoned load was joined");
    }

    #[test]
    fn a_panic_is_an_internal_error_for_every_caller() {
        let fetch = SharedFetch::new(Box::pin(async { panic!("a bug") }));
        let second = fetch.join();
        let error = fetch.join().now_or_never().expect("ready").unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Internal);
        let error = second.now_or_never().expect("ready").unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Internal);
    }
}
