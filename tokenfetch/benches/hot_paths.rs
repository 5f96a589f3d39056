//! The two paths every user pays for, each measured beside its baseline in the
//! same run, in interleaved rounds (A B, then B A, ...), awaited as a user awaits
//! them, on the same kind of runtime (current-thread) for both sides:
//!
//! - cache hit: `engine.token::<S>()`, `engine.get(handle)` and
//!   `engine.token_by_name(..)` on a warm step, against a
//!   `std::sync::RwLock<Option<(Arc<T>, Instant)>>` read with an `Instant::now()`
//!   comparison and an `Arc` clone; on 1 and on 2 threads at once;
//! - uncached fetch: one token request to a loopback server, through a bare
//!   `BodyTokenFetcher`, through an engine (builder step, and derived step), against
//!   a hand-written reqwest request through the same client (no redirects, 30 s
//!   timeout), with the same form body, to the same server, parsing the same token
//!   field; and a derived step against the same step built by hand. A calibration
//!   line first shows what a microsecond of the client's own work costs there.
//!
//! Each line prints the median time per operation of both sides, the median of
//! the per-round ratios with their range, and the median per-round difference
//! per operation. Run with `cargo bench -p tokenfetch --bench hot_paths`;
//! `ROUNDS=31 cargo bench ..` for more rounds (the fetch lines run twenty times as
//! many rounds, of 200 fetches each); `ONLY=hit` or `ONLY=fetch` for one half;
//! `PROFILE=raw|bare|builder|derived OPS=n` to run one side of the fetches alone,
//! under a profiler.

use std::hint::black_box;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use tokenfetch::{BodyTokenFetcher, Context, Engine, Secret, TokenData, TokenFetcher, TokenStep};

fn main() {
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|rounds| rounds.parse().ok())
        .unwrap_or(15);
    println!(
        "tokenfetch hot paths: {rounds} interleaved rounds per hit line, {} per fetch line; \
         medians per operation; ratio = tokenfetch / baseline, median [range] over the \
         rounds; difference = tokenfetch - baseline per operation, median over the rounds\n",
        rounds * 20
    );
    if let Ok(side) = std::env::var("PROFILE") {
        let ops = std::env::var("OPS").ok().and_then(|ops| ops.parse().ok());
        profile(&side, ops.unwrap_or(20_000));
        return;
    }
    let only = std::env::var("ONLY").unwrap_or_default();
    if only != "fetch" {
        hits(rounds);
        println!();
    }
    if only != "hit" {
        fetches(rounds);
    }
}

// ---------------------------------------------------------------- measurement

/// Runs `a` and `b` in `rounds` interleaved rounds of `ops` operations each, and
/// prints their medians per operation, the median and range of the paired
/// ratios, and the median of the paired differences per operation.
fn paired(
    label: &str,
    rounds: usize,
    ops: u64,
    mut a: impl FnMut(u64) -> Duration,
    mut b: impl FnMut(u64) -> Duration,
) {
    // A warm-up round each, not counted.
    a(ops / 4 + 1);
    b(ops / 4 + 1);
    let mut times_a = Vec::with_capacity(rounds);
    let mut times_b = Vec::with_capacity(rounds);
    for round in 0..rounds {
        let (ta, tb) = if round % 2 == 0 {
            let ta = a(ops);
            (ta, b(ops))
        } else {
            let tb = b(ops);
            (a(ops), tb)
        };
        times_a.push(ta.as_nanos() as f64 / ops as f64);
        times_b.push(tb.as_nanos() as f64 / ops as f64);
    }
    let mut ratios: Vec<f64> = times_a.iter().zip(&times_b).map(|(a, b)| a / b).collect();
    let mut differences: Vec<f64> = times_a.iter().zip(&times_b).map(|(a, b)| a - b).collect();
    let (median_a, median_b) = (median(&mut times_a), median(&mut times_b));
    let ratio = median(&mut ratios);
    let (low, high) = (ratios[0], ratios[ratios.len() - 1]);
    let difference = median(&mut differences);
    println!(
        "{label:<58} {:>10} {:>10}   {ratio:.3}x [{low:.3}-{high:.3}]; {}{}",
        show(median_a),
        show(median_b),
        if difference < 0.0 { "-" } else { "+" },
        show(difference.abs())
    );
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap());
    values[values.len() / 2]
}

fn show(nanos: f64) -> String {
    if nanos < 10_000.0 {
        format!("{nanos:.1} ns")
    } else {
        format!("{:.1} us", nanos / 1000.0)
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Runs `ops` awaits of `op` on each of `threads` threads at once, each on its
/// own current-thread runtime; returns the longest thread's time, so that
/// `time / ops` is the time per operation with that many threads at work.
fn on_threads<F, Fut>(threads: usize, ops: u64, op: F) -> Duration
where
    F: Fn() -> Fut + Send + Clone + 'static,
    Fut: std::future::Future<Output = ()>,
{
    let barrier = Arc::new(std::sync::Barrier::new(threads));
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (op, barrier) = (op.clone(), Arc::clone(&barrier));
            std::thread::spawn(move || {
                let runtime = runtime();
                barrier.wait();
                runtime.block_on(async {
                    let started = Instant::now();
                    for _ in 0..ops {
                        op().await;
                    }
                    started.elapsed()
                })
            })
        })
        .collect();
    workers
        .into_iter()
        .map(|worker| worker.join().unwrap())
        .max()
        .unwrap()
}

// ---------------------------------------------------------------- the server

/// A loopback HTTP/1.1 server answering every request with the same token, a
/// thread per connection: small, so that what differs is the client's work.
///
/// Each connection's thread spins on its socket for a while before it sleeps
/// in a blocking read. A thread that sleeps is slow to wake, the slower the
/// longer it slept (notably on a virtual machine, whose idle CPU halts), so
/// with a sleeping server each microsecond the client spends between two
/// requests would cost several in the round trip, and the ratios would measure
/// the server's wake-up rather than the client's work.
fn token_server() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let stream = stream.unwrap();
            std::thread::spawn(move || serve(stream));
        }
    });
    format!("http://{address}")
}

/// How long a connection's thread spins for the next request before it sleeps.
const SPIN: Duration = Duration::from_millis(2);

/// Answers each request of a keep-alive connection: its head, then
/// `content-length` bytes of body.
fn serve(mut stream: std::net::TcpStream) {
    use std::io::{ErrorKind, Read, Write};

    stream.set_nodelay(true).unwrap();
    let body = br#"{"access_token":"tok-123","token_type":"Bearer","expires_in":3600}"#;
    let mut response = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    response.extend_from_slice(body);
    let mut buffer = vec![0u8; 16 * 1024];
    let mut filled = 0;
    loop {
        // Spin, then sleep until the next bytes come.
        stream.set_nonblocking(true).unwrap();
        let spun = Instant::now();
        let read = loop {
            match stream.read(&mut buffer[filled..]) {
                Err(error) if error.kind() == ErrorKind::WouldBlock => {
                    if spun.elapsed() > SPIN {
                        stream.set_nonblocking(false).unwrap();
                    } else {
                        std::hint::spin_loop();
                    }
                }
                Err(_) | Ok(0) => return,
                Ok(read) => break read,
            }
        };
        filled += read;
        while let Some(end) = buffer[..filled].windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .map_or(0, |value| value.trim().parse().unwrap_or(0));
            let total = end + 4 + length;
            if filled < total {
                break;
            }
            buffer.copy_within(total..filled, 0);
            filled -= total;
            if stream.write_all(&response).is_err() {
                return;
            }
        }
    }
}

// ---------------------------------------------------------------- steps

/// The step declared with the derive.
#[derive(TokenStep)]
#[endpoint("/token")]
#[token_field("access_token")]
struct DerivedToken {
    client_id: String,
    client_secret: Secret,
}

fn derived() -> DerivedToken {
    DerivedToken {
        client_id: "app".into(),
        client_secret: "s3cret".into(),
    }
}

/// The same step, built by hand.
fn hand_built(name: &str) -> BodyTokenFetcher {
    BodyTokenFetcher::builder(name)
        .endpoint("/token")
        .token_field("access_token")
        .data("client_id", "app")
        .data("client_secret", "s3cret")
        .build()
        .unwrap()
}

/// An engine with one step, through `client` (the same as the baseline's) when
/// given.
fn engine_with<F: TokenFetcher>(base: &str, client: Option<&reqwest::Client>, step: F) -> Engine {
    let mut builder = Engine::builder().base_url(base).step(step);
    if let Some(client) = client {
        builder = builder.client(client.clone());
    }
    builder.build().unwrap()
}

// ---------------------------------------------------------------- cache hits

type Baseline = RwLock<Option<(Arc<TokenData>, Instant)>>;

/// The baseline hit: a locked read, a clock comparison, an `Arc` clone.
#[inline(never)]
fn baseline_hit(cell: &Baseline) -> Option<Arc<TokenData>> {
    let guard = cell.read().unwrap();
    let (token, expires) = guard.as_ref()?;
    (Instant::now() < *expires).then(|| Arc::clone(token))
}

fn hits(rounds: usize) {
    println!(
        "{:<58} {:>10} {:>10}   ratio",
        "cache hit", "tokenfetch", "baseline"
    );
    let base = token_server();
    let engine = engine_with(&base, None, derived());
    runtime().block_on(engine.token::<DerivedToken>()).unwrap();
    let handle = engine.handle::<DerivedToken>().unwrap();
    let baseline: Arc<Baseline> = Arc::new(RwLock::new(Some((
        Arc::new(TokenData::new("tok")),
        Instant::now() + Duration::from_secs(3600),
    ))));
    let ops = 1_000_000;
    for threads in [1, 2] {
        let base_op = {
            let cell = Arc::clone(&baseline);
            move || {
                let cell = Arc::clone(&cell);
                async move {
                    black_box(baseline_hit(&cell));
                }
            }
        };
        let typed = {
            let engine = engine.clone();
            move || {
                let engine = engine.clone();
                async move {
                    black_box(engine.token::<DerivedToken>().await.unwrap());
                }
            }
        };
        let by_handle = {
            let engine = engine.clone();
            move || {
                let engine = engine.clone();
                async move {
                    black_box(engine.get(handle).await.unwrap());
                }
            }
        };
        let by_name = {
            let engine = engine.clone();
            move || {
                let engine = engine.clone();
                async move {
                    black_box(engine.token_by_name(DerivedToken::NAME).await.unwrap());
                }
            }
        };
        let label = |what: &str| format!("{what}, {threads} thread(s)");
        paired(
            &label("engine.token::<S>()"),
            rounds,
            ops,
            |n| on_threads(threads, n, typed.clone()),
            |n| on_threads(threads, n, base_op.clone()),
        );
        paired(
            &label("engine.get(handle)"),
            rounds,
            ops,
            |n| on_threads(threads, n, by_handle.clone()),
            |n| on_threads(threads, n, base_op.clone()),
        );
        paired(
            &label("engine.token_by_name(..)"),
            rounds,
            ops,
            |n| on_threads(threads, n, by_name.clone()),
            |n| on_threads(threads, n, base_op.clone()),
        );
    }
}

// ---------------------------------------------------------------- fetches

/// The hand-written request the fetches are measured against: the same client
/// settings, body, server and token field.
async fn raw_fetch(client: &reqwest::Client, url: &str) -> String {
    let response = client
        .post(url)
        .form(&[("client_id", "app"), ("client_secret", "s3cret")])
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    let body = response.bytes().await.unwrap();
    let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
    value["access_token"].as_str().unwrap().to_owned()
}

/// The sides of the fetch measurements, each a loop of `n` awaited fetches
/// returning its time.
struct FetchSides {
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
    url: String,
    context: Context,
    bare: BodyTokenFetcher,
    built: Engine,
    derived: Engine,
}

impl FetchSides {
    fn new() -> Self {
        let base = token_server();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        FetchSides {
            runtime: runtime(),
            url: format!("{base}/token"),
            context: Context::new()
                .with_base_url(base.parse().unwrap())
                .with_client(client.clone()),
            bare: hand_built("bare"),
            built: engine_with(&base, Some(&client), hand_built("app")),
            derived: engine_with(&base, Some(&client), derived()),
            client,
        }
    }

    fn raw(&self, n: u64) -> Duration {
        self.runtime.block_on(async {
            let started = Instant::now();
            for _ in 0..n {
                black_box(raw_fetch(&self.client, &self.url).await);
            }
            started.elapsed()
        })
    }

    fn bare(&self, n: u64) -> Duration {
        self.runtime.block_on(async {
            let started = Instant::now();
            for _ in 0..n {
                black_box(self.bare.fetch(&self.context).await.unwrap());
            }
            started.elapsed()
        })
    }

    fn engine(&self, engine: &Engine, name: &str, n: u64) -> Duration {
        self.runtime.block_on(async {
            let started = Instant::now();
            for _ in 0..n {
                engine.invalidate(name);
                black_box(engine.token_by_name(name).await.unwrap());
            }
            started.elapsed()
        })
    }

    fn builder(&self, n: u64) -> Duration {
        self.engine(&self.built, "app", n)
    }

    fn derived(&self, n: u64) -> Duration {
        self.engine(&self.derived, DerivedToken::NAME, n)
    }
}

fn profile(side: &str, ops: u64) {
    let sides = FetchSides::new();
    let run = match side {
        "raw" => FetchSides::raw,
        "bare" => FetchSides::bare,
        "builder" => FetchSides::builder,
        "derived" => FetchSides::derived,
        other => panic!("PROFILE={other}: expected raw, bare, builder or derived"),
    };
    let time = run(&sides, ops);
    println!(
        "{side}: {ops} fetches, {}",
        show(time.as_nanos() as f64 / ops as f64)
    );
}

fn fetches(rounds: usize) {
    println!(
        "{:<58} {:>10} {:>10}   ratio [range]; difference",
        "uncached fetch", "tokenfetch", "baseline"
    );
    let sides = FetchSides::new();
    // Short rounds, many of them: the loopback's round trip drifts, and pairing
    // short rounds cancels that drift best.
    let (rounds, ops) = (rounds * 20, 200);
    let raw = |n| sides.raw(n);
    // What one microsecond of the client's own work costs in this set-up: the
    // same request, then a microsecond of busy work. Close to +1 us when the
    // set-up measures the client's work rather than the server's wake-up.
    let raw_then_busy = |n| {
        sides.runtime.block_on(async {
            let started = Instant::now();
            for _ in 0..n {
                black_box(raw_fetch(&sides.client, &sides.url).await);
                let busy = Instant::now();
                while busy.elapsed() < Duration::from_micros(1) {
                    std::hint::spin_loop();
                }
            }
            started.elapsed()
        })
    };
    paired(
        "calibration: raw + 1 us of busy work vs raw",
        rounds,
        ops,
        raw_then_busy,
        raw,
    );
    paired(
        "BodyTokenFetcher::fetch vs raw reqwest",
        rounds,
        ops,
        |n| sides.bare(n),
        raw,
    );
    paired(
        "engine, builder step (invalidated each time) vs raw",
        rounds,
        ops,
        |n| sides.builder(n),
        raw,
    );
    paired(
        "engine, derived step (invalidated each time) vs raw",
        rounds,
        ops,
        |n| sides.derived(n),
        raw,
    );
    paired(
        "derived step vs the same step built by hand (engines)",
        rounds,
        ops,
        |n| sides.derived(n),
        |n| sides.builder(n),
    );
}
