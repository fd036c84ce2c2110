//! The routes and their thin handlers, the layers that bound every request
//! (body size, time, requests in flight), and the access log.

use crate::api::{self, ApiError, ChangeRequest, CheckRequest, RoundcubeForm};
use crate::change::{self, Outcome, blocking};
use crate::guard::Guard;
use crate::page::{self, Page};
use crate::{Config, Limits};
use axum::body::{Body, Bytes};
use axum::extract::rejection::{FormRejection, JsonRejection};
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use chrono::Utc;
use pwsentry::passwd_file::PasswdFile;
use pwsentry::store::Store;
use pwsentry::{Checker, Context, Password};
use serde_json::json;
use std::net::SocketAddr;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Instant;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// What every handler shares.
pub struct App {
    pub checker: Checker,
    pub store: Arc<dyn Store>,
    pub passwd_file: Option<PasswdFile>,
    pub admin_token: Option<Zeroizing<String>>,
    pub guard: Guard,
    /// A hash of a random password, verified against when the account is
    /// unknown, so that an unknown account costs and answers what a wrong
    /// password does. Made with the parameters new passwords get.
    pub decoy_hash: String,
    /// The decoy's argon2 memory, KiB.
    pub decoy_memory_kib: u32,
    /// How long verifying the decoy took at start-up: a wrong current
    /// password is answered no sooner, so that accounts whose passwd-file
    /// hash is cheaper (legacy crypt schemes) answer as late as unknown ones.
    pub verify_floor: std::time::Duration,
    /// The self-service page's branding, assets and CSRF key.
    pub page: Page,
}

/// The server's routes with their limits, for [`axum::serve()`] with
/// `into_make_service_with_connect_info::<SocketAddr>()`, served over
/// plain HTTP (behind a TLS proxy, or on loopback).
pub fn router(config: Config) -> Router {
    router_for(config, false)
}

/// The routes; `tls`: the server speaks TLS itself, so the page's cookie
/// is `Secure`.
pub(crate) fn router_for(config: Config, tls: bool) -> Router {
    let decoy = Password::new(format!("{:032x}", rand::random::<u128>()));
    let decoy_params = pwsentry::mailhash::MailHashParams::for_policy(config.checker.policy());
    let decoy_hash =
        pwsentry::mailhash::dovecot_argon2id(&decoy, &decoy_params).unwrap_or_default();
    // The faster of two verifications (the first also warms the allocator):
    // the time a wrong password takes at least. Measured only when there
    // are current passwords to verify (a passwd-file).
    let verify_floor = if config.passwd_file.is_some() {
        (0..2)
            .map(|_| {
                let started = Instant::now();
                let _ = pwsentry::mailhash::verify(&decoy_hash, &Password::new("x".to_owned()));
                started.elapsed()
            })
            .min()
            .unwrap_or_default()
    } else {
        std::time::Duration::ZERO
    };
    let limits: Limits = config.limits.clone();
    let rules = config.checker.policy().accounts().clone();
    let passwd_file = config.passwd_file.map(|p| p.accounts(rules));
    let app = Arc::new(App {
        checker: config.checker,
        store: config.store,
        passwd_file,
        admin_token: config.admin_token,
        guard: Guard::new(&limits),
        decoy_hash,
        decoy_memory_kib: decoy_params.memory_kib(),
        verify_floor,
        page: Page::new(config.branding, tls),
    });
    Router::new()
        .route("/", get(page::show).post(page::submit))
        .route("/assets/{file}", get(page::asset))
        .route("/v1/generate", post(page::generate))
        .route("/v1/check", post(check))
        .route("/v1/change", post(change_json))
        .route("/roundcube", post(change_roundcube))
        .route("/v1/status/{account}", get(status))
        .route("/v1/stale", get(stale))
        .route("/healthz", get(|| async { "ok\n" }))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route") })
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(middleware::from_fn(security_headers))
        .layer(tower::limit::ConcurrencyLimitLayer::new(
            limits.max_in_flight,
        ))
        .layer(middleware::from_fn_with_state(app.clone(), per_client))
        .layer(middleware::from_fn_with_state(
            limits.request_timeout,
            timeout,
        ))
        .layer(middleware::from_fn(access_log))
        .with_state(app)
}

async fn check(
    State(app): State<Arc<App>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    body: Result<Json<CheckRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    app.guard.allow_check(client.ip())?;
    let Json(req) = body.map_err(|e| api::bad_json(&e))?;
    if req.user_inputs.len() > api::MAX_USER_INPUTS
        || req
            .user_inputs
            .iter()
            .any(|w| w.len() > api::MAX_USER_INPUT_BYTES)
    {
        return Err(ApiError::bad_request(format!(
            "at most {} user_inputs of at most {} bytes each",
            api::MAX_USER_INPUTS,
            api::MAX_USER_INPUT_BYTES
        )));
    }
    let account = req
        .account
        .as_deref()
        .map(api::account)
        .transpose()?
        .map(str::to_owned);
    let verdict = blocking(move || {
        let mut context = Context::new();
        if let Some(a) = account {
            context = context.account(a);
        }
        for w in req.user_inputs {
            context = context.user_input(w);
        }
        Ok(app.checker.evaluate(req.password.0.expose(), &context))
    })
    .await?;
    Ok(Json(api::verdict_json(&verdict)).into_response())
}

async fn change_json(
    State(app): State<Arc<App>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    body: Result<Json<ChangeRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    app.guard.allow_change(client.ip())?;
    let Json(req) = body.map_err(|e| api::bad_json(&e))?;
    let account = canonical(&app, &req.account)?;
    let outcome = change::change(
        app,
        account,
        req.current_password.0,
        req.new_password.0,
        client.ip(),
    )
    .await?;
    Ok(match outcome {
        Outcome::Changed(v) => {
            Json(json!({"changed": true, "verdict": api::verdict_json(&v)})).into_response()
        }
        Outcome::Rejected(v) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"changed": false, "verdict": api::verdict_json(&v)})),
        )
            .into_response(),
    })
}

/// Roundcube's `httpapi` password driver: `200 ok`, or a 4xx/5xx status
/// with the reasons as text (Roundcube logs the body).
///
/// Roundcube calls it from its server, which sends no fetch metadata: a
/// form on another site, posted by a visitor's browser, is refused before
/// it counts, so that pages elsewhere cannot spend accounts' lockouts from
/// their visitors' addresses.
async fn change_roundcube(
    State(app): State<Arc<App>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Form<RoundcubeForm>, FormRejection>,
) -> Response {
    if !page::same_origin(&headers) {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "cross_site",
            "this endpoint is for Roundcube's server, not for forms on other sites",
        )
        .into_text();
    }
    let result = async {
        app.guard.allow_change(client.ip())?;
        let Form(form) = body.map_err(|e| api::bad_form(&e))?;
        let account = canonical(&app, &form.user)?;
        change::change(app, account, form.curpass.0, form.newpass.0, client.ip()).await
    }
    .await;
    match result {
        Ok(Outcome::Changed(_)) => (StatusCode::OK, "ok").into_response(),
        Ok(Outcome::Rejected(v)) => {
            (StatusCode::UNPROCESSABLE_ENTITY, api::verdict_text(&v)).into_response()
        }
        Err(e) => e.into_text(),
    }
}

/// The canonical account id (the policy's `[accounts]`), or 400.
pub(crate) fn canonical(app: &App, text: &str) -> Result<String, ApiError> {
    let text = api::account(text)?;
    pwsentry::AccountId::parse(text, app.checker.policy().accounts())
        .map(pwsentry::AccountId::into_string)
        .map_err(|e| ApiError::bad_request(e.to_string()))
}

fn authorize(app: &App, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(token) = &app.admin_token else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such route",
        ));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if bool::from(given.as_bytes().ct_eq(token.as_bytes())) {
        Ok(())
    } else {
        let mut e = ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid bearer token is needed",
        );
        e.status = StatusCode::UNAUTHORIZED;
        Err(e)
    }
}

async fn status(
    State(app): State<Arc<App>>,
    Path(account): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    authorize(&app, &headers)?;
    let account = canonical(&app, &account)?;
    let body = blocking(move || {
        let now = Utc::now();
        let history = app.store.history(&account)?;
        let entries = history.as_ref().map_or(0, |h| h.entries().len());
        let s = pwsentry::rotation::status_at(
            app.checker.policy().rotation(),
            history.and_then(|h| h.changed_at()),
            now,
        );
        Ok(json!({
            "account": account,
            "status": s.state.code(),
            "changed_at": s.changed_at,
            "age_days": s.age_days,
            "expires_at": s.expires_at,
            "history_entries": entries,
        }))
    })
    .await?;
    Ok(Json(body).into_response())
}

/// Streams `{"accounts":[…]}` as the store yields them: memory stays flat
/// whatever the number of accounts.
async fn stale(State(app): State<Arc<App>>, headers: HeaderMap) -> Result<Response, ApiError> {
    authorize(&app, &headers)?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(16);
    tokio::task::spawn_blocking(move || {
        let now = Utc::now();
        let mut chunk = String::from("{\"accounts\":[");
        let mut first = true;
        let result = pwsentry::rotation::stale_accounts(
            &*app.store,
            app.checker.policy().rotation(),
            now,
            |a| {
                if !first {
                    chunk.push(',');
                }
                first = false;
                chunk.push_str(
                    &json!({
                        "account": a.account,
                        "status": a.status.state.code(),
                        "changed_at": a.status.changed_at,
                        "age_days": a.status.age_days,
                        "expires_at": a.status.expires_at,
                    })
                    .to_string(),
                );
                if chunk.len() >= 16 * 1024 {
                    let full = std::mem::take(&mut chunk);
                    if tx.blocking_send(Ok(Bytes::from(full))).is_err() {
                        return ControlFlow::Break(()); // the client went away
                    }
                }
                ControlFlow::Continue(())
            },
        );
        match result {
            Ok(()) => {
                chunk.push_str("]}\n");
                let _ = tx.blocking_send(Ok(Bytes::from(chunk)));
            }
            Err(e) => {
                eprintln!("pwsentry serve: error: stale report: {e}");
                // A broken body tells the client the listing is incomplete.
                let _ = tx.blocking_send(Err(std::io::Error::other("stale report failed")));
            }
        }
    });
    let stream = tokio_stream::wrappers::ReceiverStream::new(rx);
    let mut r = Response::new(Body::from_stream(stream));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(r)
}

/// Headers on every response: nothing cached (but the content-named
/// assets), nothing framed, no referrer, nothing but this server's own
/// script, style and images.
async fn security_headers(req: Request, next: Next) -> Response {
    let mut r = next.run(req).await;
    let h = r.headers_mut();
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(page::CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}

/// At most [`Limits::max_in_flight_per_client`] requests of one client
/// address at once, counted before the body is read (slow bodies).
async fn per_client(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let client = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let _in_flight = match client.map(|ip| app.guard.enter(ip)).transpose() {
        Ok(ticket) => ticket,
        Err(e) => {
            // Refused before the body was read: the connection is closed
            // after this answer (see `ApiError`), and says so.
            let mut r = e.into_response();
            r.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            return r;
        }
    };
    next.run(req).await
}

async fn timeout(State(limit): State<std::time::Duration>, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(r) => r,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            "the request took too long",
        )
        .into_response(),
    }
}

/// One line per request on stderr: method, path, status, milliseconds.
/// Never a body, a query string or a header value.
async fn access_log(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let client = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_default();
    let r = next.run(req).await;
    // The status route's path holds an account id: log the route, not the id.
    let shown = if path.starts_with("/v1/status/") {
        "/v1/status/…"
    } else {
        path.as_str()
    };
    eprintln!(
        "{} {client} {method} {} {} {}ms",
        Utc::now().format("%Y-%m-%dT%H:%M:%SZ"),
        shown.escape_debug(),
        r.status().as_u16(),
        start.elapsed().as_millis()
    );
    r
}
