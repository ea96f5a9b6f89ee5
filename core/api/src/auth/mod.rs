//! Who is calling, and may they do this?
//!
//! Two ways in: a browser session (cookie, plus the CSRF token on anything
//! that changes state) or an API token (`Authorization: Bearer`). [`permit`]
//! wraps every protected handler: it authenticates, checks the role against
//! the domain's permission table and hands the handler a [`Principal`]. A
//! handler cannot obtain a `Principal` any other way, so a route that forgot
//! its permission fails closed with a 500 instead of running unchecked.

mod lockout;
pub mod password;
pub mod secret;

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use axum::response::{IntoResponse, Response};
use omnigate_domain::{Actor, Permission, Timestamp, User};
use omnigate_store::SessionRecord;
use tower::{Layer, Service};

use crate::error::ApiError;
use crate::state::AppState;
use crate::{CSRF_HEADER, SESSION_COOKIE};

/// How the caller authenticated.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A browser session.
    Session {
        /// SHA-256 of the session token (the store's key).
        token_hash: [u8; 32],
        /// The session as stored.
        session: Arc<SessionRecord>,
    },
    /// An API token.
    Token {
        /// The token's id.
        id: u64,
    },
}

/// An authenticated caller whose role allowed the request.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The user (for a token, the user it acts as), shared with the store's cache.
    pub user: Arc<User>,
    /// How they authenticated.
    pub credential: Credential,
}

impl Principal {
    /// The actor to record in the audit log.
    #[must_use]
    pub fn actor(&self) -> Actor {
        Actor::User {
            id: self.user.id,
            email: self.user.email.clone(),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Principal, ApiError> {
        parts.extensions.remove::<Principal>().ok_or_else(|| {
            ApiError::internal(&"handler asked for a Principal but its route has no permit layer")
        })
    }
}

/// The layer that guards one handler with one permission.
pub(crate) fn permit(state: &AppState, permission: Permission) -> PermitLayer {
    PermitLayer {
        state: state.clone(),
        permission,
    }
}

/// See [`permit`]. A plain tower layer rather than `from_fn`: authentication
/// is synchronous, so a refusal is a ready future and an admitted request
/// goes straight to the handler, with no boxing on the way.
#[derive(Clone)]
pub(crate) struct PermitLayer {
    state: AppState,
    permission: Permission,
}

impl<S> Layer<S> for PermitLayer {
    type Service = Permit<S>;

    fn layer(&self, inner: S) -> Permit<S> {
        Permit {
            inner,
            state: self.state.clone(),
            permission: self.permission,
        }
    }
}

/// The service [`PermitLayer`] makes.
#[derive(Clone)]
pub(crate) struct Permit<S> {
    inner: S,
    state: AppState,
    permission: Permission,
}

impl<S> Service<Request> for Permit<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = PermitFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        match authorize(&self.state, self.permission, &mut req) {
            Ok(()) => PermitFuture::Admitted {
                inner: self.inner.call(req),
            },
            Err(error) => PermitFuture::Refused {
                response: Some(error.into_response()),
            },
        }
    }
}

pin_project_lite::pin_project! {
    /// Either the handler's future or the refusal.
    #[project = PermitProj]
    pub(crate) enum PermitFuture<F> {
        /// Authorised: the handler runs.
        Admitted { #[pin] inner: F },
        /// Refused: the error response, taken on first poll.
        Refused { response: Option<Response> },
    }
}

impl<F: Future<Output = Result<Response, Infallible>>> Future for PermitFuture<F> {
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            PermitProj::Admitted { inner } => inner.poll(cx),
            PermitProj::Refused { response } => Poll::Ready(Ok(response
                .take()
                .unwrap_or_else(|| ApiError::internal(&"refusal polled twice").into_response()))),
        }
    }
}

fn authorize(state: &AppState, permission: Permission, req: &mut Request) -> Result<(), ApiError> {
    let principal = authenticate(state, req.method(), req.headers())?;
    if !is_safe(req.method()) {
        state.refuse_if_read_only()?;
    }
    if !principal.user.role.allows(permission) {
        return Err(ApiError::forbidden(format!(
            "your role ({}) does not allow this (it needs {})",
            principal.user.role,
            permission.as_str()
        )));
    }
    req.extensions_mut().insert(principal);
    Ok(())
}

fn authenticate(
    state: &AppState,
    method: &Method,
    headers: &HeaderMap,
) -> Result<Principal, ApiError> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| {
                ApiError::unauthenticated("the Authorization header must be `Bearer <api token>`")
            })?;
        return authenticate_token(state, token.trim());
    }
    let Some(token) = session_cookie(headers) else {
        return Err(ApiError::unauthenticated(
            "log in first (POST /api/v1/auth/login) or send an API token",
        ));
    };
    let principal = authenticate_session(state, token)?;
    if !is_safe(method) {
        check_csrf(&principal, headers)?;
    }
    Ok(principal)
}

fn authenticate_token(state: &AppState, token: &str) -> Result<Principal, ApiError> {
    let store = &state.inner.store;
    let invalid = || ApiError::unauthenticated("the API token is not valid (revoked or mistyped)");
    let record = store
        .token_by_hash(&secret::sha256(token))?
        .ok_or_else(invalid)?;
    let user = store.cached_user(record.user())?.ok_or_else(invalid)?;
    if user.disabled {
        return Err(ApiError::unauthenticated(
            "the API token belongs to a disabled user",
        ));
    }
    Ok(Principal {
        user,
        credential: Credential::Token { id: record.id },
    })
}

fn authenticate_session(state: &AppState, token: &str) -> Result<Principal, ApiError> {
    let store = &state.inner.store;
    let token_hash = secret::sha256(token);
    let expired = || ApiError::unauthenticated("your session has ended; log in again");
    let mut session = store.cached_session(&token_hash)?.ok_or_else(expired)?;
    let now = state.now();
    let idle_ms =
        i64::try_from(state.config().session_idle_timeout.as_millis()).unwrap_or(i64::MAX);
    if now.0 >= session.expires_at_ms || now.0.saturating_sub(session.last_seen_ms) >= idle_ms {
        store.delete_session(&token_hash)?;
        return Err(expired());
    }
    let user = store.cached_user(session.user())?.ok_or_else(expired)?;
    if user.disabled {
        store.delete_session(&token_hash)?;
        return Err(expired());
    }
    // Record activity for the idle timeout, at most once a minute (or a
    // quarter of the timeout, if shorter) so that reads do not turn into
    // writes. Only an existing session is touched: a request that read it
    // just before a revocation must not bring it back. Not awaited for
    // durability: losing a minute of idle time in a crash is harmless.
    let touch_every_ms = (idle_ms / 4).min(60_000);
    if now.0 - session.last_seen_ms > touch_every_ms {
        if !store.touch_session(&token_hash, now.0)? {
            return Err(expired());
        }
        Arc::make_mut(&mut session).last_seen_ms = now.0;
    }
    Ok(Principal {
        user,
        credential: Credential::Session {
            token_hash,
            session,
        },
    })
}

fn check_csrf(principal: &Principal, headers: &HeaderMap) -> Result<(), ApiError> {
    let Credential::Session { session, .. } = &principal.credential else {
        return Ok(());
    };
    let sent = headers
        .get(CSRF_HEADER)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if secret::constant_time_eq(sent, session.csrf_token.as_bytes()) {
        Ok(())
    } else {
        Err(ApiError::new(
            axum::http::StatusCode::FORBIDDEN,
            "csrf_token_invalid",
            "this change needs the X-CSRF-Token header with the token from login or GET /api/v1/me",
        ))
    }
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The session token from the `Cookie` header(s), if present.
pub(crate) fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value)
}

/// `Set-Cookie` value that installs a session token.
pub(crate) fn session_cookie_header(token: &str, expires_at: Timestamp, now: Timestamp) -> String {
    format!(
        "{SESSION_COOKIE}={token}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age={}",
        expires_at.since(now).as_secs()
    )
}

/// `Set-Cookie` value that removes the session cookie.
pub(crate) fn clear_session_cookie_header() -> String {
    format!("{SESSION_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("theme=dark; __Host-omnigate_session=abc; x=y"),
        );
        assert_eq!(session_cookie(&headers), Some("abc"));
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("omnigate_session=abc"),
        );
        assert_eq!(session_cookie(&headers), None);
    }

    #[test]
    fn cookie_header_has_the_security_flags() {
        let value = session_cookie_header("t", Timestamp(3_600_000), Timestamp(0));
        for flag in [
            "Secure",
            "HttpOnly",
            "SameSite=Strict",
            "Path=/",
            "Max-Age=3600",
        ] {
            assert!(value.contains(flag), "{value}");
        }
        assert!(!value.contains("Domain"));
    }
}
