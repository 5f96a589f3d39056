//! A cache hit allocates nothing: a counting global allocator watches this thread
//! while a warm engine answers through a typed step and through a handle.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use serde_json::json;
use tokenfetch::{
    BodyTokenFetcher, BoxFuture, Context, Engine, TokenData, TokenFetcher, TokenStep,
};
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

struct Counting;

thread_local! {
    static WATCHING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if WATCHING.with(Cell::get) {
            ALLOCATIONS.with(|count| count.set(count.get() + 1));
        }
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Allocations made on this thread while `f` runs.
fn allocations_in(f: impl FnOnce()) -> usize {
    ALLOCATIONS.with(|count| count.set(0));
    WATCHING.with(|watching| watching.set(true));
    f();
    WATCHING.with(|watching| watching.set(false));
    ALLOCATIONS.with(Cell::get)
}

struct Leaf(BodyTokenFetcher);

impl TokenFetcher for Leaf {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn fetch<'a>(&'a self, context: &'a Context) -> BoxFuture<'a, tokenfetch::Result<TokenData>> {
        self.0.fetch(context)
    }
}

impl TokenStep for Leaf {
    const NAME: &'static str = "leaf";
}

#[tokio::test]
async fn a_cache_hit_does_not_allocate() {
    let server = MockServer::start().await;
    Mock::given(path("/leaf"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"access_token": "t"})))
        .mount(&server)
        .await;
    let engine = Engine::builder()
        .base_url(server.uri())
        .step(Leaf(
            BodyTokenFetcher::builder("leaf")
                .endpoint("/leaf")
                .build()
                .unwrap(),
        ))
        .build()
        .unwrap();
    engine.token::<Leaf>().await.unwrap();
    let handle = engine.handle::<Leaf>().unwrap();
    // Warm this thread's arc-swap slot before watching.
    engine.get(handle).await.unwrap();

    // Counting is per thread, and the futures are polled right here: the hit path
    // completes on its first poll.
    use futures_util::FutureExt;
    let typed = allocations_in(|| {
        for _ in 0..1000 {
            let token = engine.token::<Leaf>().now_or_never().unwrap().unwrap();
            assert_eq!(token.access_token().expose(), "t");
        }
    });
    let by_handle = allocations_in(|| {
        for _ in 0..1000 {
            engine.get(handle).now_or_never().unwrap().unwrap();
        }
    });
    // The counter itself works: a miss allocates.
    let miss = allocations_in(|| {
        engine.invalidate("leaf");
        let _ = engine.token::<Leaf>().now_or_never();
    });
    assert_eq!((typed, by_handle), (0, 0));
    assert!(miss > 0);
}
