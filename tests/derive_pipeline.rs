//! `#[derive(TokenPipeline)]` against a real HTTP server on 127.0.0.1: the
//! canonical example of the README declared as one pipeline and fetched through a
//! `PipelineEngine`. The server refuses requests that lack the injected tokens, and
//! counts what it receives, so that caching and single fetches are checked too.

use std::sync::Arc;

use futures_util::future::try_join_all;
use tokenfetch::{Engine, ErrorKind, PipelineEngine, Result, TokenPipeline};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

mod common;

use common::{AppToken, DeviceToken, UserToken};

/// The user step first: field order is not dependency order.
#[derive(TokenPipeline)]
struct Auth {
    user: UserToken,
    device: DeviceToken,
    app: AppToken,
}

fn auth() -> Auth {
    Auth {
        user: UserToken {
            username: "u".into(),
            password: "p".into(),
        },
        device: DeviceToken {
            device_id: "device-123".into(),
        },
        app: AppToken {
            client_id: "app".into(),
            client_secret: "s3cret".into(),
        },
    }
}

async fn server() -> MockServer {
    common::canonical_server(Some(1)).await
}

fn engine(server: &MockServer) -> Result<PipelineEngine<Auth>> {
    auth().into_engine(Engine::builder().base_url(server.uri()))
}

#[tokio::test]
async fn a_pipeline_engine_fetches_every_step_once() -> Result<()> {
    let server = server().await;
    let engine = engine(&server)?;

    let user = engine.token::<UserToken>().await?;
    assert_eq!(user.access_token().expose(), "user-tok");
    assert_eq!(server.received_requests().await.unwrap().len(), 3);

    // The dependencies were cached on the way; so is the user token.
    let device = engine.token::<DeviceToken>().await?;
    let app = engine.token::<AppToken>().await?;
    assert_eq!(device.access_token().expose(), "dev-tok");
    assert_eq!(app.access_token().expose(), "app-tok");
    assert_eq!(engine.token::<UserToken>().await?, user);
    // The untyped engine and a clone share the cache.
    assert_eq!(engine.engine().token_by_name("user_token").await?, user);
    assert_eq!(engine.clone().token::<UserToken>().await?, user);
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
    Ok(())
}

#[tokio::test]
async fn concurrent_callers_share_one_fetch_per_step() -> Result<()> {
    let server = server().await;
    let engine = engine(&server)?;
    let callers = (0..8).map(|_| {
        let engine = engine.clone();
        async move { engine.token::<UserToken>().await }
    });
    let tokens = try_join_all(callers).await?;
    assert!(tokens.iter().all(|token| Arc::ptr_eq(token, &tokens[0])));
    // Each mock expects exactly one request; `server` checks it when dropped.
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
    Ok(())
}

#[tokio::test]
async fn invalidating_a_step_refetches_it_only() -> Result<()> {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/device/register"))
        .respond_with(ResponseTemplate::new(200).insert_header("X-Device-Token", "dev-tok"))
        .mount(&server)
        .await;
    let engine = Device(DeviceToken {
        device_id: "device-123".into(),
    })
    .into_engine(Engine::builder().base_url(server.uri()))?;

    engine.token::<DeviceToken>().await?;
    assert!(engine.invalidate::<DeviceToken>());
    engine.token::<DeviceToken>().await?;
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
    Ok(())
}

#[derive(TokenPipeline)]
struct Device(DeviceToken);

#[test]
fn the_pipeline_registers_its_steps_in_field_order() -> Result<()> {
    assert_eq!(
        Auth::STEP_NAMES,
        ["user_token", "device_token", "app_token"]
    );
    let engine = auth().into_engine(Engine::builder())?;
    let names: Vec<&str> = engine.engine().step_names().collect();
    assert_eq!(names, Auth::STEP_NAMES);
    let debug = format!("{engine:?}");
    assert!(
        debug.contains("Auth") && !debug.contains("s3cret"),
        "{debug}"
    );
    Ok(())
}

#[test]
fn a_step_registered_twice_is_a_graph_error_at_build() {
    // The pipeline's own graph is checked at compile time; steps the builder had
    // already are checked when the engine is built.
    let builder = Engine::builder().step(DeviceToken {
        device_id: "other".into(),
    });
    let error = auth().into_engine(builder).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Config);
    assert!(matches!(
        error.graph_error(),
        Some(tokenfetch::GraphError::DuplicateStep { name }) if name == "device_token"
    ));
}

#[test]
fn a_bad_base_url_fails_the_build() {
    let error = auth()
        .into_engine(Engine::builder().base_url("not a url"))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Config);
}
