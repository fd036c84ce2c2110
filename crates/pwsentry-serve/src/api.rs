//! Request and response types, bounded as they are parsed, and the error
//! responses. Errors name what is wrong with a request, never its content.

use axum::Json;
use axum::extract::rejection::{FormRejection, JsonRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use pwsentry::{Password, Verdict};
use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};

/// Longest account id accepted, bytes.
pub const MAX_ACCOUNT_BYTES: usize = 320;
/// Longest password accepted, bytes (the policy's own maximum is checked
/// by the evaluation; this only bounds what is held).
pub const MAX_PASSWORD_BYTES: usize = 4096;
/// Most `user_inputs` in one check, and the longest one, bytes.
pub const MAX_USER_INPUTS: usize = 16;
/// Longest user input, bytes.
pub const MAX_USER_INPUT_BYTES: usize = 256;

/// A password field: moved into a zeroizing buffer as it is parsed.
pub struct Secret(pub Password);

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s.len() > MAX_PASSWORD_BYTES {
            // Dropped (and wiped) by `Password` either way.
            drop(Password::new(s));
            return Err(serde::de::Error::custom(format!(
                "a password is longer than {MAX_PASSWORD_BYTES} bytes"
            )));
        }
        Ok(Secret(Password::new(s)))
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// `POST /v1/check`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckRequest {
    pub password: Secret,
    #[serde(default)]
    pub account: Option<String>,
    #[serde(default)]
    pub user_inputs: Vec<String>,
}

/// `POST /v1/change`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeRequest {
    pub account: String,
    pub current_password: Secret,
    pub new_password: Secret,
}

/// `POST /roundcube`: Roundcube's `httpapi` driver's form fields.
#[derive(Debug, Deserialize)]
pub struct RoundcubeForm {
    pub user: String,
    pub curpass: Secret,
    pub newpass: Secret,
}

/// An error response: `{"error":{"code":…,"message":…}}`, or the message
/// as text for the Roundcube endpoint.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn internal(err: &pwsentry::Error) -> ApiError {
        match err {
            pwsentry::Error::Busy => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "the history store is busy; try again",
            ),
            // Library errors never carry a password or hash; they may name
            // files, which the administrator needs and the caller does not.
            _ => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the server could not complete the request; its administrator can see why in its log",
            ),
        }
    }

    /// As plain text (for Roundcube, which logs the body).
    pub fn into_text(self) -> Response {
        let mut r = (self.status, format!("{}\n", self.message)).into_response();
        self.add_retry_after(&mut r);
        r
    }

    fn add_retry_after(&self, r: &mut Response) {
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        // Refused before its body was read (wrong type, too large): the
        // rest of the body is still on the connection, so it is closed
        // after this answer. Saying so lets a keep-alive client open a new
        // one instead of sending its next request into a closed socket.
        if matches!(
            self.status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE | StatusCode::PAYLOAD_TOO_LARGE
        ) {
            r.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"code": self.code, "message": self.message}});
        let mut r = (self.status, Json(body)).into_response();
        self.add_retry_after(&mut r);
        r
    }
}

/// A JSON body that could not be used: what and where, never the text
/// (serde's messages can quote values).
pub fn bad_json(rejection: &JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "bad_request",
            "send the request as Content-Type: application/json",
        ),
        JsonRejection::BytesRejection(_) => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            "the request body is too large or could not be read",
        ),
        JsonRejection::JsonSyntaxError(_) => ApiError::bad_request("the body is not valid JSON"),
        JsonRejection::JsonDataError(e) => ApiError::bad_request(data_error(&e.body_text())),
        _ => ApiError::bad_request("the body could not be read as JSON"),
    }
}

/// A form body that could not be used.
pub fn bad_form(rejection: &FormRejection) -> ApiError {
    match rejection {
        FormRejection::BytesRejection(_) => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            "the request body is too large or could not be read",
        ),
        _ => ApiError::bad_request("the form needs the fields user, curpass and newpass"),
    }
}

/// Answers with fixed text only: serde's messages quote values and
/// unknown field names, and any of them could hold a password, so nothing
/// of `text` is copied, only recognised.
fn data_error(text: &str) -> String {
    // Our own length messages (see `Secret`), matched whole.
    let too_long = format!("a password is longer than {MAX_PASSWORD_BYTES} bytes");
    if text.contains(&too_long) {
        return format!("the JSON body does not fit: {too_long}");
    }
    for field in [
        "password",
        "account",
        "user_inputs",
        "current_password",
        "new_password",
    ] {
        if text.contains(&format!("missing field `{field}`")) {
            return format!("the JSON body does not fit: missing field `{field}`");
        }
    }
    if text.contains("unknown field") {
        return "the JSON body has a field this endpoint does not take".into();
    }
    "the JSON body does not fit: a field is missing or has the wrong type".into()
}

/// Bounds an account id as received (the library checks its form).
pub fn account(text: &str) -> Result<&str, ApiError> {
    if text.is_empty() || text.len() > MAX_ACCOUNT_BYTES {
        return Err(ApiError::bad_request(format!(
            "the account must be 1 to {MAX_ACCOUNT_BYTES} bytes"
        )));
    }
    if text.chars().any(char::is_control) || text.trim() != text {
        return Err(ApiError::bad_request(
            "the account has control characters or surrounding spaces",
        ));
    }
    Ok(text)
}

/// A verdict as the JSON object of `pwsentry check --json`.
pub fn verdict_json(v: &Verdict) -> Value {
    let s = v.strength();
    json!({
        "accepted": v.accepted(),
        "score": s.map(|s| s.score),
        "guesses_log10": s.map(|s| (s.guesses_log10 * 100.0).round() / 100.0),
        "violations": v.violations().iter().map(|x| json!({"rule": x.rule.code(), "message": x.message})).collect::<Vec<_>>(),
        "warning": s.and_then(|s| s.warning.clone()),
        "suggestions": s.map(|s| s.suggestions.clone()).unwrap_or_default(),
        "bounded": s.is_some_and(|s| s.bounded),
    })
}

/// A verdict's reasons as text lines (`rule: message`).
pub fn verdict_text(v: &Verdict) -> String {
    let mut out = String::from("rejected:\n");
    for x in v.violations() {
        out.push_str(&format!("- {}: {}\n", x.rule, x.message));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn data_errors_never_quote_the_request() {
        let secret = "Marker#Secret#9731";
        for text in [
            format!(
                "user_inputs: invalid type: string \"missing field {secret}\", expected a sequence at line 1 column 9"
            ),
            format!("unknown field `missing field {secret}`, expected one of `password`"),
            format!(
                "user_inputs: invalid type: string \"is longer than {secret}\", expected a sequence"
            ),
        ] {
            let answer = super::data_error(&text);
            assert!(!answer.contains(secret), "{answer}");
        }
        assert_eq!(
            super::data_error("missing field `password` at line 1 column 2"),
            "the JSON body does not fit: missing field `password`"
        );
    }
}
