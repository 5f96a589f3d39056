//! Store keys as laws: the same configuration gives the same key however often it
//! is built (and, through the stable encoding the unit tests pin, in every process
//! and release); a change to any part of the request gives another key.

use proptest::prelude::*;
use tokenfetch::{BodyTokenFetcher, Engine, Injection};

/// A step's configuration, as generated.
#[derive(Debug, Clone)]
struct Config {
    endpoint: String,
    get: bool,
    json: bool,
    headers: Vec<(String, String)>,
    query: Vec<(String, String)>,
    data: Vec<(String, String)>,
    token_field: String,
    inject_format: Option<String>,
}

fn pairs() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec(("x-[a-z]{1,6}", "[ -~]{0,10}"), 0..4)
}

fn config() -> impl Strategy<Value = Config> {
    (
        "/[a-z/]{0,12}",
        any::<bool>(),
        any::<bool>(),
        pairs(),
        pairs(),
        pairs(),
        "[a-z_]{1,12}",
        prop::option::of("Bearer \\{token\\}[a-z]{0,3}"),
    )
        .prop_map(
            |(endpoint, get, json, headers, query, data, token_field, inject_format)| Config {
                endpoint,
                get,
                json,
                headers,
                query,
                data,
                token_field,
                inject_format,
            },
        )
}

/// The store key of step `api`, configured by `config`, after a dependency `app`.
fn key(config: &Config) -> String {
    let mut builder = BodyTokenFetcher::builder("api")
        .endpoint(config.endpoint.clone())
        .token_field(config.token_field.clone())
        .depends_on("app");
    if config.get {
        builder = builder.get();
    }
    if config.json {
        builder = builder.json();
    }
    for (name, value) in &config.headers {
        builder = builder.header(name.clone(), value.clone());
    }
    for (name, value) in &config.query {
        builder = builder.query(name.clone(), value.clone());
    }
    for (name, value) in &config.data {
        builder = builder.data(name.clone(), value.clone());
    }
    let mut injection = Injection::header("app", "X-App");
    if let Some(format) = &config.inject_format {
        injection = injection.format(format.clone());
    }
    // One client for every engine: building one per case would be most of the
    // test's time.
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    let client = CLIENT.get_or_init(reqwest::Client::new).clone();
    let engine = Engine::builder()
        .base_url("https://auth.example")
        .client(client)
        .step(
            BodyTokenFetcher::builder("app")
                .endpoint("/app")
                .build()
                .unwrap(),
        )
        .step(builder.inject(injection).build().unwrap())
        .build()
        .unwrap();
    engine.store_key("api").unwrap().as_str().to_owned()
}

/// `config` with one of its parts changed, chosen by `which`.
fn changed(config: &Config, which: usize) -> Config {
    let mut other = config.clone();
    match which % 8 {
        0 => other.endpoint.push('x'),
        1 => other.get = !other.get,
        2 => other.json = !other.json,
        3 => other.headers.push(("x-more".into(), "v".into())),
        4 => other.query.push(("more".into(), "v".into())),
        5 => other.data.push(("more".into(), "v".into())),
        6 => other.token_field.push('x'),
        _ => {
            other.inject_format = match &other.inject_format {
                Some(format) => Some(format!("{format}!")),
                None => Some("Token {token}".into()),
            }
        }
    }
    other
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn the_same_configuration_gives_the_same_key(config in config()) {
        prop_assert_eq!(key(&config), key(&config.clone()));
    }

    #[test]
    fn any_changed_part_of_the_request_gives_another_key(config in config(), which in 0usize..8) {
        prop_assert_ne!(key(&config), key(&changed(&config, which)));
    }

    #[test]
    fn a_changed_value_gives_another_key(config in config(), value in "[ -~]{0,10}") {
        prop_assume!(!config.data.is_empty());
        let mut other = config.clone();
        prop_assume!(other.data[0].1 != value);
        other.data[0].1 = value;
        prop_assert_ne!(key(&config), key(&other));
    }
}
