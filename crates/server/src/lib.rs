//! The HTTP edge: routes, extractors, problem+json, OpenAPI. Handlers parse, call one use case, render.

mod api;
mod console;
mod error;
mod extract;
mod idempotency;
mod openapi;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderName, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use shuqiao_app::Platform;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub use error::ApiError;

/// JSON bodies larger than this are refused with 413.
pub const JSON_LIMIT: usize = 1024 * 1024;
/// Catalog import files may be larger.
pub const IMPORT_LIMIT: usize = 64 * 1024 * 1024;

/// State shared by handlers. The platform is set once storage and search are ready; until then the server
/// answers `/healthz` but `/readyz` and the API answer 503.
#[derive(Clone, Default)]
pub struct AppState {
    platform: Arc<OnceLock<Platform>>,
    /// The public base URL, for links in exports.
    pub base_url: Arc<OnceLock<String>>,
}

impl AppState {
    pub fn new() -> AppState {
        AppState::default()
    }

    /// Marks the platform ready.
    pub fn set_ready(&self, platform: Platform) {
        let _ = self.platform.set(platform);
    }

    pub(crate) fn platform(&self) -> Result<&Platform, ApiError> {
        self.platform.get().ok_or_else(ApiError::not_ready)
    }
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    let api = api::routes().layer(axum::middleware::from_fn_with_state(state.clone(), idempotency::layer));
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .nest("/api/v1", api)
        .merge(console::routes())
        .fallback(console::fallback)
        .layer(DefaultBodyLimit::max(JSON_LIMIT))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &axum::http::Request<_>| {
                    let id = req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
                    tracing::info_span!("http", method = %req.method(), path = %req.uri().path(), request_id = %id)
                })
                // A 5xx is usually an offline node or a timeout, already explained in its problem body; internal
                // errors are logged at ERROR with their cause where they happen (error.rs).
                .on_failure(tower_http::trace::DefaultOnFailure::new().level(tracing::Level::WARN)),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .with_state(state)
}

async fn readyz(State(state): State<AppState>) -> axum::response::Response {
    match state.platform.get() {
        Some(p) if p.store.ping().await => (StatusCode::OK, "ready").into_response(),
        Some(_) => (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response(),
        None => (StatusCode::SERVICE_UNAVAILABLE, "starting").into_response(),
    }
}

async fn metrics(State(state): State<AppState>) -> axum::response::Response {
    let mut out = String::new();
    out.push_str("# HELP shuqiao_up Whether the platform is ready.\n# TYPE shuqiao_up gauge\n");
    match state.platform.get() {
        Some(p) => {
            out.push_str("shuqiao_up 1\n");
            out.push_str("# HELP shuqiao_catalog_index_docs Documents in the catalog search index.\n");
            out.push_str("# TYPE shuqiao_catalog_index_docs gauge\n");
            out.push_str(&format!("shuqiao_catalog_index_docs {}\n", p.index.num_docs()));
        }
        None => out.push_str("shuqiao_up 0\n"),
    }
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}

/// Serves until `shutdown` resolves, then finishes in-flight requests (at most 10 s).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        shutdown.await;
        let _ = tx.send(());
    });
    let drain = async move {
        let _ = rx.await;
        tokio::time::sleep(Duration::from_secs(10)).await;
    };
    tokio::select! {
        r = server => r,
        () = drain => Ok(()),
    }
}
