//! The state every handler shares.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use omnigate_domain::{
    AuditEvent, Clock, LoginThrottle, PasswordPolicy, ThrottlePolicy, Timestamp,
};
use omnigate_engine::Engine;
use omnigate_store::{AuditEntry, Store};
use tokio::sync::Semaphore;

use crate::error::ApiError;
use crate::metrics::Metrics;

/// Settings the API needs, taken from the server's config.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Absolute lifetime of a login session.
    pub session_ttl: Duration,
    /// A session unused for this long ends.
    pub session_idle_timeout: Duration,
    /// What new passwords must satisfy.
    pub password_policy: PasswordPolicy,
    /// Lockout rule per account.
    pub account_throttle: ThrottlePolicy,
    /// Lockout rule per client address.
    pub address_throttle: ThrottlePolicy,
    /// Largest request body accepted, in bytes.
    pub body_limit_bytes: usize,
    /// Longest a request may take before it is answered 503.
    pub request_timeout: Duration,
}

impl Default for ApiConfig {
    fn default() -> ApiConfig {
        ApiConfig {
            session_ttl: Duration::from_secs(12 * 3600),
            session_idle_timeout: Duration::from_secs(2 * 3600),
            password_policy: PasswordPolicy::default(),
            account_throttle: ThrottlePolicy {
                max_failures: 5,
                window: Duration::from_secs(900),
                lockout: Duration::from_secs(900),
            },
            address_throttle: ThrottlePolicy {
                max_failures: 20,
                window: Duration::from_secs(900),
                lockout: Duration::from_secs(900),
            },
            body_limit_bytes: 1024 * 1024,
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// Shared handles: the store, the clock, throttles and metrics.
#[derive(Clone)]
pub struct AppState {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) store: Arc<Store>,
    pub(crate) engine: Arc<Engine>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) config: ApiConfig,
    pub(crate) metrics: Metrics,
    pub(crate) account_throttles: Mutex<HashMap<String, LoginThrottle>>,
    pub(crate) address_throttles: Mutex<HashMap<String, LoginThrottle>>,
    /// Bounds concurrent argon2 work (19 MiB and tens of ms each) so a login
    /// flood cannot exhaust memory or starve the runtime.
    pub(crate) password_work: Semaphore,
    /// Serialises user-management changes so the last-admin check holds.
    pub(crate) user_admin: tokio::sync::Mutex<()>,
    pub(crate) accepting: AtomicBool,
}

impl AppState {
    /// State over an opened store and the engine started on it.
    pub fn new(
        store: Arc<Store>,
        engine: Arc<Engine>,
        clock: Arc<dyn Clock>,
        config: ApiConfig,
    ) -> AppState {
        let metrics = Metrics::new(Arc::clone(&store));
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        AppState {
            inner: Arc::new(Inner {
                store,
                engine,
                clock,
                config,
                metrics,
                account_throttles: Mutex::new(HashMap::new()),
                address_throttles: Mutex::new(HashMap::new()),
                password_work: Semaphore::new(cores * 2),
                user_admin: tokio::sync::Mutex::new(()),
                accepting: AtomicBool::new(true),
            }),
        }
    }

    /// Marks the server as shutting down: `/readyz` answers 503 from now on,
    /// so a load balancer stops sending traffic while in-flight requests end.
    pub fn stop_accepting(&self) {
        self.inner.accepting.store(false, Ordering::SeqCst);
    }

    /// The store, for the server's own start-up work.
    #[must_use]
    pub fn store(&self) -> &Arc<Store> {
        &self.inner.store
    }

    /// The conversation engine.
    #[must_use]
    pub fn engine(&self) -> &Arc<Engine> {
        &self.inner.engine
    }

    pub(crate) fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    pub(crate) fn config(&self) -> &ApiConfig {
        &self.inner.config
    }

    /// Appends an audit event now; the caller awaits durability before replying.
    pub(crate) fn audit(&self, event: &AuditEvent) -> Result<AuditEntry, ApiError> {
        Ok(self.inner.store.append_audit(event, self.now())?)
    }

    /// Waits until everything written so far is on disk.
    pub(crate) async fn durable(&self) -> Result<(), ApiError> {
        Ok(self.inner.store.durable().await?)
    }

    /// Refuses a change up front when the store cannot make it durable (a
    /// flush failed), instead of applying it in memory and failing after.
    pub(crate) fn refuse_if_read_only(&self) -> Result<(), ApiError> {
        if self.inner.store.is_ready() {
            Ok(())
        } else {
            Err(ApiError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "storage_unavailable",
                "the server cannot write to disk and refuses changes until an administrator fixes it and restarts the server",
            ))
        }
    }
}
