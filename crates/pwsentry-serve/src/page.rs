//! The self-service page: `GET /` (the form), `POST /` (the same form
//! without JavaScript: CSRF-checked, answered by a page with every
//! reason), `POST /v1/generate` (the "suggest one" button) and the page's
//! assets under `/assets/`.
//!
//! The page is semantic HTML rendered with maud (every value escaped), a
//! small stylesheet and a small script, all embedded in the binary and
//! served by this module; the script only calls `/v1/check`,
//! `/v1/generate` and `/v1/change`. Handlers stay thin: a change goes
//! through `change::change`, with its rate limits and lockout.
//!
//! This module must never put a password into a response, a URL or the
//! log: password fields are rendered empty, and a generated password is
//! only ever the body of the `/v1/generate` answer.

use crate::api::{self, ApiError, Secret};
use crate::change::{self, Outcome};
use crate::routes::{App, canonical};
use axum::extract::rejection::{FormRejection, JsonRejection};
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use hmac::{Hmac, KeyInit, Mac};
use maud::{DOCTYPE, Markup, html};
use pwsentry::generate::{Generator, Style};
use pwsentry::policy::ServePolicy;
use pwsentry::trusted_file::{self, FileRole};
use pwsentry::{Checker, Context, Verdict};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// The page's stylesheet.
pub const CSS: &str = include_str!("../assets/page.css");
/// The page's script.
pub const JS: &str = include_str!("../assets/page.js");
/// Largest logo accepted, bytes.
pub const MAX_LOGO_BYTES: usize = 64 * 1024;
/// The title when the policy names none.
pub const DEFAULT_TITLE: &str = "Change your mail password";
/// What the page says after a change, with or without JavaScript.
pub const CHANGED: &str = "Your password was changed.";

/// How the page presents itself (`[serve]` in the policy), with the logo
/// already read.
#[derive(Debug, Clone)]
pub struct Branding {
    title: String,
    logo: Option<Logo>,
    help_url: Option<String>,
}

#[derive(Debug, Clone)]
struct Logo {
    bytes: Vec<u8>,
    content_type: &'static str,
}

impl Default for Branding {
    fn default() -> Self {
        Branding {
            title: DEFAULT_TITLE.to_owned(),
            logo: None,
            help_url: None,
        }
    }
}

impl Branding {
    /// The branding of a policy's `[serve]` section; reads the logo (a
    /// trusted file: regular, not writable by others) once.
    ///
    /// # Errors
    /// The logo cannot be read, is larger than [`MAX_LOGO_BYTES`], or is
    /// not the PNG or SVG image its name says.
    pub fn load(serve: &ServePolicy) -> Result<Branding, String> {
        let logo = match &serve.logo {
            None => None,
            Some(path) => {
                let shown = path.display();
                let mut bytes = Vec::with_capacity(MAX_LOGO_BYTES + 1);
                let fits =
                    trusted_file::read_at_most(path, FileRole::Config, MAX_LOGO_BYTES, &mut bytes)
                        .map_err(|e| format!("serve.logo {shown}: {e}"))?;
                if !fits {
                    return Err(format!(
                        "serve.logo {shown}: larger than {} KiB",
                        MAX_LOGO_BYTES / 1024
                    ));
                }
                let svg = path
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("svg"));
                let content_type = if svg {
                    if !looks_like_svg(&bytes) {
                        return Err(format!("serve.logo {shown}: not an SVG image"));
                    }
                    "image/svg+xml"
                } else {
                    if !bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
                        return Err(format!("serve.logo {shown}: not a PNG image"));
                    }
                    "image/png"
                };
                Some(Logo {
                    bytes,
                    content_type,
                })
            }
        };
        Ok(Branding {
            title: serve
                .title
                .clone()
                .unwrap_or_else(|| DEFAULT_TITLE.to_owned()),
            logo,
            help_url: serve.help_url.clone(),
        })
    }
}

fn looks_like_svg(bytes: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return false;
    };
    let text = text.trim_start_matches('\u{feff}').trim_start();
    (text.starts_with("<svg") || text.starts_with("<?xml")) && text.contains("<svg")
}

/// What the page handlers share: branding, the assets' hashed paths and
/// the CSRF key.
pub struct Page {
    branding: Branding,
    css_path: String,
    js_path: String,
    logo_path: Option<String>,
    csrf: Csrf,
    secure_cookie: bool,
}

impl Page {
    /// `secure_cookie`: the server speaks TLS itself, so the CSRF cookie
    /// can be `Secure` (and `__Host-` prefixed).
    pub fn new(branding: Branding, secure_cookie: bool) -> Page {
        let logo_path = branding
            .logo
            .as_ref()
            .map(|l| asset_path("logo", &l.bytes, ext_of(l.content_type)));
        Page {
            css_path: asset_path("page", CSS.as_bytes(), "css"),
            js_path: asset_path("page", JS.as_bytes(), "js"),
            logo_path,
            branding,
            csrf: Csrf::random(),
            secure_cookie,
        }
    }

    fn cookie_name(&self) -> &'static str {
        if self.secure_cookie {
            "__Host-pwsentry_csrf"
        } else {
            "pwsentry_csrf"
        }
    }

    /// The CSRF nonce of the request's cookie, if it has a well-formed one.
    fn nonce_of(&self, headers: &HeaderMap) -> Option<String> {
        let name = self.cookie_name();
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|kv| kv.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_owned())
            .filter(|v| is_nonce(v))
    }

    fn set_cookie(&self, nonce: &str) -> HeaderValue {
        let secure = if self.secure_cookie { "; Secure" } else { "" };
        HeaderValue::from_str(&format!(
            "{}={nonce}; Path=/; HttpOnly; SameSite=Strict{secure}",
            self.cookie_name()
        ))
        .unwrap_or_else(|_| HeaderValue::from_static(""))
    }
}

fn ext_of(content_type: &str) -> &'static str {
    if content_type == "image/png" {
        "png"
    } else {
        "svg"
    }
}

/// `/assets/NAME.HASH.EXT`: the hash changes with the content, so the
/// asset can be cached for a year.
fn asset_path(name: &str, bytes: &[u8], ext: &str) -> String {
    let digest = Sha256::digest(bytes);
    let hash: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
    format!("/assets/{name}.{hash}.{ext}")
}

fn is_nonce(v: &str) -> bool {
    v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Double-submit CSRF tokens: the cookie holds a random nonce, the form
/// holds an HMAC of it under a key that lives only in this process, so a
/// page on another site can neither read nor forge the pair.
pub struct Csrf {
    key: [u8; 32],
}

impl Csrf {
    fn random() -> Csrf {
        Csrf {
            key: rand::random(),
        }
    }

    fn token(&self, nonce: &str) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(b"pwsentry page csrf\0");
        mac.update(nonce.as_bytes());
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    fn verify(&self, nonce: &str, token: &str) -> bool {
        let expected = self.token(nonce);
        bool::from(expected.as_bytes().ct_eq(token.as_bytes()))
    }
}

/// Whether a form post comes from this server's own page, by the headers
/// browsers set and pages cannot: `Sec-Fetch-Site` where sent (every
/// current browser), else an `Origin` naming this host.
pub(crate) fn same_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return site.as_bytes() == b"same-origin";
    }
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        // With `Referrer-Policy: no-referrer` a browser may send `null`
        // for its own form; the CSRF token still has to match.
        None | Some("null") => true,
        Some(origin) => {
            let host = headers
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let origin_host = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"));
            origin_host.is_some_and(|o| !host.is_empty() && o.eq_ignore_ascii_case(host))
        }
    }
}

/// What a rendered page says besides the form.
enum Notice {
    None,
    Changed,
    Rejected(Vec<String>),
    Error(String),
}

/// The page: the form (password fields always empty), the account kept
/// when re-rendered, and `notice`.
fn render(app: &App, csrf_token: &str, account: &str, notice: &Notice) -> Markup {
    let page = &app.page;
    let b = &page.branding;
    let initial = initial_rules(&app.checker);
    let words: Vec<&str> = (0..=4).map(pwsentry::strength::score_words).collect();
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (b.title) }
                link rel="stylesheet" href=(page.css_path);
                script src=(page.js_path) defer {}
            }
            body {
                main {
                    header {
                        @if let Some(logo) = &page.logo_path {
                            img.logo src=(logo) alt="";
                        }
                        h1 { (b.title) }
                    }
                    div #result role="status" aria-live="polite" tabindex="-1"
                        class=(match notice { Notice::Changed => "ok", Notice::None => "", _ => "bad" }) {
                        @match notice {
                            Notice::None => {}
                            Notice::Changed => p { (CHANGED) },
                            Notice::Rejected(reasons) => {
                                p { "Not changed: the new password does not meet these rules:" }
                                ul { @for r in reasons { li { (r) } } }
                            }
                            Notice::Error(message) => p { "Not changed: " (message) },
                        }
                    }
                    form #change method="post" action="/" {
                        input type="hidden" name="csrf" value=(csrf_token);
                        div.field {
                            label for="account" { "Email address" }
                            input #account name="account" type="text" inputmode="email"
                                autocomplete="username" autocapitalize="none" spellcheck="false"
                                required maxlength=(api::MAX_ACCOUNT_BYTES) value=(account);
                        }
                        div.field {
                            label for="current" { "Current password" }
                            input #current name="current_password" type="password"
                                autocomplete="current-password" required;
                        }
                        div.field {
                            label for="new" { "New password" }
                            input #new name="new_password" type="password"
                                autocomplete="new-password" required
                                aria-describedby="meter-text rules";
                            div #meter aria-live="polite" {
                                div.bar aria-hidden="true" { span #bar {} }
                                p #meter-text data-words=(words.join("|")) {
                                    "Not accepted yet:"
                                }
                                ul #rules { @for r in &initial { li { (r) } } }
                            }
                            button #suggest type="button" hidden { "Suggest one" }
                            div #suggestion hidden aria-live="polite" {
                                p { "Suggested: " code #suggested {} }
                                p.hint { "Save it in your password manager now: it is shown only this once." }
                            }
                        }
                        div.field {
                            label for="confirm" { "New password again" }
                            input #confirm name="confirm_password" type="password"
                                autocomplete="new-password" required aria-describedby="match";
                            p #match aria-live="polite" {}
                        }
                        button #submit type="submit" { "Change password" }
                    }
                    @if let Some(url) = &b.help_url {
                        footer { a href=(url) rel="noopener noreferrer" { "Help" } }
                    }
                }
            }
        }
    }
}

/// The rules an empty password breaks: every rule the policy has, in the
/// CLI's words, shown before anything is typed (and without JavaScript).
fn initial_rules(checker: &Checker) -> Vec<String> {
    checker
        .evaluate("", &Context::new())
        .violations()
        .iter()
        .map(|v| v.message.clone())
        .collect()
}

fn html_response(status: StatusCode, markup: Markup, cookie: Option<HeaderValue>) -> Response {
    let mut r = (status, markup.into_string()).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    if let Some(c) = cookie {
        h.insert(header::SET_COOKIE, c);
    }
    r
}

/// `GET /`: the form, with a CSRF cookie (kept when the browser has one,
/// so that two open tabs both work).
pub async fn show(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let nonce = app
        .page
        .nonce_of(&headers)
        .unwrap_or_else(|| format!("{:032x}", rand::random::<u128>()));
    let token = app.page.csrf.token(&nonce);
    let cookie = app.page.set_cookie(&nonce);
    html_response(
        StatusCode::OK,
        render(&app, &token, "", &Notice::None),
        Some(cookie),
    )
}

/// The fields of the page's form.
#[derive(Debug, Deserialize)]
pub struct ChangeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    account: String,
    current_password: Secret,
    new_password: Secret,
    confirm_password: Secret,
}

/// `POST /`: the form without JavaScript. Answers the page again, with
/// the outcome and every reason; never with a password.
pub async fn submit(
    State(app): State<Arc<App>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Form<ChangeForm>, FormRejection>,
) -> Response {
    let nonce = app.page.nonce_of(&headers);
    // A fresh token for the page sent back, whatever happened.
    let nonce_next = nonce
        .clone()
        .unwrap_or_else(|| format!("{:032x}", rand::random::<u128>()));
    let token_next = app.page.csrf.token(&nonce_next);
    let cookie = app.page.set_cookie(&nonce_next);
    let mut account_shown = String::new();
    let (status, notice) = match body {
        Err(e) => {
            let e = api::bad_form(&e);
            let message = if e.status == StatusCode::BAD_REQUEST {
                "the form is incomplete, or a field is longer than allowed: fill in every field"
                    .to_owned()
            } else {
                e.message
            };
            (e.status, Notice::Error(message))
        }
        Ok(Form(form)) => {
            // The account is not a secret: keep it, bounded, in the form.
            if form.account.len() <= api::MAX_ACCOUNT_BYTES {
                account_shown = form.account.clone();
            }
            let forged = !same_origin(&headers)
                || !nonce
                    .as_deref()
                    .is_some_and(|n| app.page.csrf.verify(n, &form.csrf));
            if forged {
                (
                    StatusCode::FORBIDDEN,
                    Notice::Error(
                        "the form had expired or was not sent from this page; nothing was changed, please try again".into(),
                    ),
                )
            } else {
                submit_change(&app, client, form).await
            }
        }
    };
    html_response(
        status,
        render(&app, &token_next, &account_shown, &notice),
        Some(cookie),
    )
}

async fn submit_change(
    app: &Arc<App>,
    client: SocketAddr,
    form: ChangeForm,
) -> (StatusCode, Notice) {
    let result = async {
        app.guard.allow_change(client.ip())?;
        if form.new_password.0.expose() != form.confirm_password.0.expose() {
            return Ok(Err(
                "the new password and its confirmation do not match".to_owned()
            ));
        }
        let account = canonical(app, &form.account)?;
        change::change(
            app.clone(),
            account,
            form.current_password.0,
            form.new_password.0,
            client.ip(),
        )
        .await
        .map(Ok)
    }
    .await;
    match result {
        Ok(Ok(Outcome::Changed(_))) => (StatusCode::OK, Notice::Changed),
        Ok(Ok(Outcome::Rejected(v))) => (StatusCode::UNPROCESSABLE_ENTITY, rejected(&v)),
        Ok(Err(mismatch)) => (StatusCode::UNPROCESSABLE_ENTITY, Notice::Error(mismatch)),
        Err(e) => (e.status, Notice::Error(e.message)),
    }
}

fn rejected(v: &Verdict) -> Notice {
    Notice::Rejected(v.violations().iter().map(|x| x.message.clone()).collect())
}

/// `POST /v1/generate`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerateRequest {
    /// Keep the account's name parts out of the suggestion.
    #[serde(default)]
    account: Option<String>,
}

/// `POST /v1/generate`: a random password that the policy accepts (JSON
/// only, so another site's form cannot ask; rate-limited like
/// `/v1/check`).
pub async fn generate(
    State(app): State<Arc<App>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    body: Result<Json<GenerateRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    app.guard.allow_check(client.ip())?;
    let Json(req) = body.map_err(|e| api::bad_json(&e))?;
    let account = req
        .account
        .as_deref()
        .map(api::account)
        .transpose()?
        .map(str::to_owned);
    let made = tokio::task::spawn_blocking(move || {
        let mut context = Context::new();
        if let Some(a) = account {
            context = context.account(a);
        }
        let generator = Generator::new(&app.checker).context(context);
        generator.generate(Style::password_for(app.checker.policy()))
    })
    .await
    .map_err(|_| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the request failed inside the server",
        )
    })?
    .map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "cannot_generate",
            e.to_string(),
        )
    })?;
    Ok(Json(json!({
        "password": made.password().expose(),
        "entropy_bits": (made.entropy_bits() * 10.0).floor() / 10.0,
        "score": made.strength().score,
    }))
    .into_response())
}

/// `GET /assets/{file}`: the stylesheet, the script and the logo, under
/// names that change with their content, cached for a year.
pub async fn asset(State(app): State<Arc<App>>, Path(file): Path<String>) -> Response {
    let page = &app.page;
    let path = format!("/assets/{file}");
    let (content_type, body): (&'static str, Vec<u8>) = if path == page.css_path {
        ("text/css; charset=utf-8", CSS.as_bytes().to_vec())
    } else if path == page.js_path {
        ("text/javascript; charset=utf-8", JS.as_bytes().to_vec())
    } else if let (Some(p), Some(logo)) = (&page.logo_path, &page.branding.logo)
        && path == *p
    {
        (logo.content_type, logo.bytes.clone())
    } else {
        return ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such asset").into_response();
    };
    let mut r = (StatusCode::OK, body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    r
}

/// The Content-Security-Policy of every response: only this server's own
/// script, style and images; no framing, no foreign form targets.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_tokens_bind_the_nonce_and_the_key() {
        let csrf = Csrf::random();
        let nonce = format!("{:032x}", 7u128);
        let token = csrf.token(&nonce);
        assert!(csrf.verify(&nonce, &token));
        assert!(!csrf.verify(&format!("{:032x}", 8u128), &token));
        assert!(!csrf.verify(&nonce, &token[..63]));
        assert!(!csrf.verify(&nonce, ""));
        assert!(
            !Csrf::random().verify(&nonce, &token),
            "another process's key"
        );
    }

    #[test]
    fn only_same_origin_posts_pass() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("mail.example.org"));
        assert!(same_origin(&h), "old browsers: the token decides");
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://mail.example.org"),
        );
        assert!(same_origin(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(!same_origin(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://mail.example.org.evil.example"),
        );
        assert!(!same_origin(&h));
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(!same_origin(&h));
        h.insert("sec-fetch-site", HeaderValue::from_static("same-site"));
        assert!(!same_origin(&h));
        h.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(same_origin(&h));
    }

    #[test]
    fn svg_and_png_logos_are_checked_by_content() {
        let dir = tempfile::tempdir().unwrap();
        let svg = dir.path().join("logo.svg");
        std::fs::write(&svg, "<svg xmlns=\"http://www.w3.org/2000/svg\"/>").unwrap();
        let png = dir.path().join("logo.png");
        std::fs::write(&png, "<svg/>").unwrap();
        let mut policy = ServePolicy::default();
        policy.logo = Some(svg);
        let b = Branding::load(&policy).unwrap();
        assert_eq!(b.logo.unwrap().content_type, "image/svg+xml");
        policy.logo = Some(png);
        let e = Branding::load(&policy).unwrap_err();
        assert!(e.contains("not a PNG image"), "{e}");
        let big = dir.path().join("big.png");
        std::fs::write(&big, vec![0u8; MAX_LOGO_BYTES + 1]).unwrap();
        policy.logo = Some(big);
        assert!(Branding::load(&policy).unwrap_err().contains("larger than"));
    }
}
