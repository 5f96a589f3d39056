//! [`SharedFetch`]: a step's load in flight, shared by every caller that wants the
//! step meanwhile. The caller that polls it drives it, with its own waker: the
//! load's progress wakes that caller alone, not every caller (no herd when many
//! wait), and the others wait for the end, when every caller but the one that
//! completed it is woken. A caller that finds the load idle drives it in turn. A
//! panic in the load is an [`Internal`](crate::ErrorKind::Internal) error for
//! every caller. A caller dropped while it drove the load, or after a wake and
//! before it polled again, wakes a caller still waiting, who drives the load on.
//! A caller that keeps its wait but stops polling it while it drives holds the
//! load up until it polls again or is dropped (as the caller running the
//! initialiser of a `tokio::sync::OnceCell` does). When the last caller goes
//! away before the load is done, a task of its own finishes it, so that it still
//! caches its token and releases its store lock for the next callers; outside a
//! runtime, it waits in the slot for the next caller to drive.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

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
    /// The caller that polled the load last: the load wakes it alone.
    driver: Option<usize>,
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
                driver: None,
            }),
        })
    }

    /// A new caller's wait for the load's output.
    pub(crate) fn join(self: &Arc<Self>) -> Joined {
        let mut state = self.lock();
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
            hands_off: true,
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
    fn wake_all(&mut self, except: usize) {
        for (key, waker) in self.wakers.iter_mut().enumerate() {
            if key != except
                && let Some(waker) = waker.take()
            {
                waker.wake();
            }
        }
    }

    /// Wakes one waiting caller, to drive the load.
    fn wake_one(&mut self) {
        if let Some(waker) = self.wakers.iter_mut().find_map(Option::take) {
            waker.wake();
        }
    }
}

/// The error every caller gets when the load panicked.
#[cold]
fn panicked() -> Error {
    Error::new(ErrorKind::Internal, "the step's fetch panicked")
}

/// One caller's wait on a [`SharedFetch`].
pub(crate) struct Joined {
    fetch: Arc<SharedFetch>,
    key: usize,
    done: bool,
    /// Whether dropping it before the load is done hands the load to a task. The
    /// task's own wait does not: dropped, its runtime is shutting down (where a
    /// new task is dropped at once), and the load waits for the next caller.
    hands_off: bool,
}

impl Future for Joined {
    type Output = Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Output> {
        let this = &mut *self;
        let mut load = {
            let mut state = this.fetch.lock();
            match &mut state.stage {
                Stage::Done(output) => {
                    let output = output.clone();
                    this.done = true;
                    return Poll::Ready(output);
                }
                Stage::Running(load) => {
                    let load = load.take();
                    let waker = &mut state.wakers[this.key];
                    if !waker
                        .as_ref()
                        .is_some_and(|known| known.will_wake(cx.waker()))
                    {
                        *waker = Some(cx.waker().clone());
                    }
                    match load {
                        Some(load) => load,
                        // Another caller is polling it: this one waits for the
                        // end, or for that caller to go away.
                        None => return Poll::Pending,
                    }
                }
            }
        };
        let polled = std::panic::catch_unwind(AssertUnwindSafe(|| load.as_mut().poll(cx)));
        let output = match polled {
            Ok(Poll::Pending) => {
                let mut state = this.fetch.lock();
                state.stage = Stage::Running(Some(load));
                state.driver = Some(this.key);
                return Poll::Pending;
            }
            Ok(Poll::Ready(output)) => output,
            Err(_) => Err(panicked()),
        };
        drop(load);
        let mut state = this.fetch.lock();
        state.stage = Stage::Done(output.clone());
        state.wakers[this.key] = None;
        state.wake_all(this.key);
        this.done = true;
        Poll::Ready(output)
    }
}

impl Drop for Joined {
    fn drop(&mut self) {
        let mut state = self.fetch.lock();
        // Woken and not polled since: the wake may have been a call to drive
        // the load.
        let woken = state.wakers[self.key].take().is_none();
        let drove = state.driver == Some(self.key);
        if drove {
            state.driver = None;
        }
        state.free.push(self.key);
        state.callers -= 1;
        let running = !self.done && matches!(state.stage, Stage::Running(_));
        if running && (woken || drove) {
            state.wake_one();
        }
        let abandoned = self.hands_off && running && state.callers == 0;
        drop(state);
        if abandoned && let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let mut task = self.fetch.join();
            task.hands_off = false;
            runtime.spawn(task);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

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

    /// The load's progress wakes the caller that polled it last, alone; its
    /// completion wakes every other caller, not the one that completed it.
    #[test]
    fn progress_wakes_the_driving_caller_and_completion_the_others() {
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
        assert_eq!(first_waker.0.load(Ordering::SeqCst), 0);
        assert_eq!(second_waker.0.load(Ordering::SeqCst), 1);
        let Poll::Ready(token) = poll(&mut second, &other) else {
            panic!("the load is done");
        };
        assert_eq!(token.unwrap().access_token().expose(), "t");
        assert_eq!(
            second_waker.0.load(Ordering::SeqCst),
            1,
            "the completer was woken again"
        );
        assert_eq!(first_waker.0.load(Ordering::SeqCst), 1);
        let Poll::Ready(token) = poll(&mut first, &waker) else {
            panic!("the load is done");
        };
        assert_eq!(token.unwrap().access_token().expose(), "t");
    }

    /// However many callers wait, the load's progress wakes one of them: no
    /// herd of tasks polled for nothing.
    #[test]
    fn many_waiting_callers_are_not_woken_by_each_bit_of_progress() {
        let (send, receive) = oneshot::channel();
        let fetch = SharedFetch::new(load(receive));
        let counter = Arc::new(Counter::default());
        let waker = Waker::from(Arc::clone(&counter));
        let mut callers: Vec<Joined> = (0..100).map(|_| fetch.join()).collect();
        for caller in &mut callers {
            assert!(poll(caller, &waker).is_pending());
        }
        send.send("t").unwrap();
        assert_eq!(counter.0.load(Ordering::SeqCst), 1);
    }

    /// A caller dropped while it drives the load wakes a caller still waiting:
    /// here the load asks to be polled again while the driving caller polls it,
    /// a second caller polling meanwhile finds it taken and waits, and the
    /// driving caller is then dropped.
    #[test]
    fn a_caller_dropped_while_it_drives_the_load_passes_it_on() {
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

    /// A caller woken to drive the load and dropped before it polled passes the
    /// wake on to another caller.
    #[test]
    fn a_woken_caller_dropped_before_it_polls_passes_the_wake_on() {
        type Waiting = Arc<Mutex<Vec<(Joined, Waker)>>>;
        let waiting: Waiting = Arc::default();
        let load = {
            let waiting = Arc::clone(&waiting);
            // The two others poll while the driving caller polls the load: they
            // find it taken, and wait.
            Box::pin(std::future::poll_fn(move |_| {
                for (other, waker) in waiting.lock().unwrap().iter_mut() {
                    assert!(poll(other, waker).is_pending());
                }
                Poll::<Output>::Pending
            }))
        };
        let fetch = SharedFetch::new(load);
        let counters: Vec<Arc<Counter>> = (0..2).map(|_| Arc::default()).collect();
        *waiting.lock().unwrap() = counters
            .iter()
            .map(|counter| (fetch.join(), Waker::from(Arc::clone(counter))))
            .collect();
        let mut driving = fetch.join();
        assert!(poll(&mut driving, &Waker::from(Arc::new(Counter::default()))).is_pending());
        drop(driving);
        assert_eq!(counters[0].0.load(Ordering::SeqCst), 1);
        assert_eq!(counters[1].0.load(Ordering::SeqCst), 0);
        let woken = waiting.lock().unwrap().remove(0);
        drop(woken);
        assert_eq!(
            counters[1].0.load(Ordering::SeqCst),
            1,
            "the wake was lost with the caller dropped before it polled"
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

    /// A load dropped by its last caller outside a runtime waits for the next
    /// caller, who finishes it.
    #[test]
    fn an_abandoned_load_outside_a_runtime_is_finished_by_the_next_caller() {
        let (send, receive) = oneshot::channel();
        let fetch = SharedFetch::new(load(receive));
        let mut first = fetch.join();
        let waker = Waker::from(Arc::new(Counter::default()));
        assert!(poll(&mut first, &waker).is_pending());
        drop(first);
        send.send("t").unwrap();
        let token = fetch.join().now_or_never().expect("ready");
        assert_eq!(token.unwrap().access_token().expose(), "t");
    }

    /// The task a load was handed to is dropped with its runtime: it does not
    /// hand the load on (a runtime shutting down drops a new task at once, which
    /// would hand it on again, without end), and the load waits for the next
    /// caller.
    #[test]
    fn a_load_handed_to_a_task_outlives_the_runtime() {
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
        drop(runtime);
        send.send("t").unwrap();
        let token = fetch.join().now_or_never().expect("ready");
        assert_eq!(token.unwrap().access_token().expose(), "t");
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
