//! Prometheus metrics: HTTP traffic by route and status, store and process figures.

use std::any::Any;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::extract::MatchedPath;
use axum::http::{Method, Request};
use axum::response::{IntoResponse, Response};
use omnigate_store::Store;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeLabelSet, EncodeLabelValue, EncodeMetric, LabelValueEncoder,
};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tower::{Layer, Service};

use crate::layers::{json_errors, panic_response, security_headers};
use crate::state::AppState;

/// A route template as a label value; shares the router's `Arc<str>`.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
struct Route(Arc<str>);

impl EncodeLabelValue for Route {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        std::fmt::Write::write_str(encoder, &self.0)
    }
}

/// One series per route template, method and status: its `_count` is the
/// number of requests, its buckets the latency, so a request costs one
/// series lookup.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: Route,
    method: &'static str,
    status: u16,
}

/// The label for requests no route matched, so 404 floods cannot blow up
/// the number of series.
fn unmatched() -> Route {
    static UNMATCHED: std::sync::OnceLock<Arc<str>> = std::sync::OnceLock::new();
    Route(Arc::clone(UNMATCHED.get_or_init(|| Arc::from("unmatched"))))
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// The registry and the HTTP metric families.
pub struct Metrics {
    registry: Registry,
    /// Route templates seen so far, so labels share one allocation each.
    routes: std::sync::RwLock<std::collections::HashSet<Arc<str>>>,
    requests: Family<RequestLabels, Histogram>,
}

fn latency_histogram() -> Histogram {
    // 50 µs .. ~26 s
    Histogram::new(exponential_buckets(0.000_05, 2.0, 20))
}

impl Metrics {
    pub(crate) fn new(store: Arc<Store>) -> Metrics {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        registry.register(
            "omnigate_http_request_duration_seconds",
            "HTTP requests answered and the time they took, by matched route template, method and status (the _count series counts requests)",
            requests.clone(),
        );
        registry.register_collector(Box::new(StoreAndProcess {
            store,
            started: SystemTime::now(),
        }));
        Metrics {
            registry,
            routes: std::sync::RwLock::default(),
            requests,
        }
    }

    /// The shared label for a route template (there are only as many as
    /// there are routes).
    fn intern(&self, route: &str) -> Route {
        if let Some(known) = self
            .routes
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(route)
        {
            return Route(Arc::clone(known));
        }
        let shared: Arc<str> = Arc::from(route);
        self.routes
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(Arc::clone(&shared));
        Route(shared)
    }

    pub(crate) fn render(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

/// Inside the router: hands the matched route template outwards in the
/// response, where [`Track`] reads it.
#[derive(Clone, Copy)]
pub(crate) struct RouteTagLayer;

impl<S> Layer<S> for RouteTagLayer {
    type Service = RouteTag<S>;

    fn layer(&self, inner: S) -> RouteTag<S> {
        RouteTag { inner }
    }
}

/// The service [`RouteTagLayer`] makes.
#[derive(Clone)]
pub(crate) struct RouteTag<S> {
    inner: S,
}

impl<S, B> Service<Request<B>> for RouteTag<S>
where
    S: Service<Request<B>, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = RouteTagFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        RouteTagFuture {
            route: req.extensions().get::<MatchedPath>().cloned(),
            inner: self.inner.call(req),
        }
    }
}

pin_project_lite::pin_project! {
    /// Adds the route template to the inner service's response.
    pub(crate) struct RouteTagFuture<F> {
        #[pin]
        inner: F,
        route: Option<MatchedPath>,
    }
}

impl<F, E> Future for RouteTagFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = std::task::ready!(this.inner.poll(cx))?;
        if let Some(route) = this.route.take() {
            response.extensions_mut().insert(route);
        }
        Poll::Ready(Ok(response))
    }
}

/// The outermost layer: gives every response the API's JSON error shape and
/// the security headers, then counts it under its route template (not the
/// raw path, so ids do not explode the label space), including responses
/// made by layers (timeouts, panics, body limits). One layer instead of
/// three keeps the per-request future shallow.
#[derive(Clone)]
pub(crate) struct TrackLayer {
    pub(crate) state: AppState,
}

impl<S> Layer<S> for TrackLayer {
    type Service = Track<S>;

    fn layer(&self, inner: S) -> Track<S> {
        Track {
            inner,
            state: self.state.clone(),
        }
    }
}

/// The service [`TrackLayer`] makes.
#[derive(Clone)]
pub(crate) struct Track<S> {
    inner: S,
    state: AppState,
}

impl<S, B> Service<Request<B>> for Track<S>
where
    S: Service<Request<B>>,
    S::Response: IntoResponse,
{
    type Response = Response;
    type Error = S::Error;
    type Future = TrackFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let method = method_label(req.method());
        let inner = &mut self.inner;
        let work = match catch_unwind(AssertUnwindSafe(|| inner.call(req))) {
            Ok(future) => Work::Running { future },
            Err(cause) => Work::Panicked { cause: Some(cause) },
        };
        TrackFuture {
            work,
            method,
            began: Instant::now(),
            state: self.state.clone(),
        }
    }
}

pin_project_lite::pin_project! {
    /// The inner service's future, or the panic that came instead of it.
    #[project = WorkProj]
    pub(crate) enum Work<F> {
        /// Running.
        Running { #[pin] future: F },
        /// `call` panicked; the cause is logged once when polled.
        Panicked { cause: Option<Box<dyn Any + Send>> },
    }
}

pin_project_lite::pin_project! {
    /// Catches a panic of the inner service, shapes the response and
    /// records it once the inner service has answered.
    pub(crate) struct TrackFuture<F> {
        #[pin]
        work: Work<F>,
        method: &'static str,
        began: Instant,
        state: AppState,
    }
}

impl<F, R, E> Future for TrackFuture<F>
where
    F: Future<Output = Result<R, E>>,
    R: IntoResponse,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = match this.work.project() {
            // A panicking handler is answered with a JSON 500 and never
            // polled again, so its broken state cannot be observed.
            WorkProj::Running { future } => {
                match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
                    Ok(Poll::Pending) => return Poll::Pending,
                    Ok(Poll::Ready(result)) => result?.into_response(),
                    Err(cause) => panic_response(cause),
                }
            }
            WorkProj::Panicked { cause } => {
                panic_response(cause.take().unwrap_or_else(|| Box::new("panicked")))
            }
        };
        let response = security_headers(json_errors(response));
        let metrics = &this.state.inner.metrics;
        let route = response
            .extensions()
            .get::<MatchedPath>()
            .map_or_else(unmatched, |p| metrics.intern(p.as_str()));
        metrics
            .requests
            .get_or_create(&RequestLabels {
                route,
                method: this.method,
                status: response.status().as_u16(),
            })
            .observe(this.began.elapsed().as_secs_f64());
        Poll::Ready(Ok(response))
    }
}

/// Figures read at scrape time.
struct StoreAndProcess {
    store: Arc<Store>,
    started: SystemTime,
}

impl std::fmt::Debug for StoreAndProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreAndProcess")
            .field("dir", &self.store.dir())
            .finish()
    }
}

fn gauge(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: f64,
) -> Result<(), std::fmt::Error> {
    let metric = ConstGauge::new(value);
    metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
}

fn counter(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: f64,
) -> Result<(), std::fmt::Error> {
    let metric = ConstCounter::new(value);
    metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
}

impl Collector for StoreAndProcess {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let stats = self.store.commit_stats();
        let e = &mut encoder;
        gauge(
            e,
            "omnigate_store_size_bytes",
            "Bytes the database occupies on disk",
            self.store.size_on_disk() as f64,
        )?;
        counter(
            e,
            "omnigate_store_flushes",
            "Group-commit flushes completed",
            stats.flushes as f64,
        )?;
        counter(
            e,
            "omnigate_store_durable_waits",
            "Writes that waited for a group commit",
            stats.durable_waits as f64,
        )?;
        counter(
            e,
            "omnigate_store_flush_seconds",
            "Time spent flushing to disk",
            stats.flush_micros_total as f64 / 1e6,
        )?;
        gauge(
            e,
            "omnigate_deliveries_pending",
            "Outbound messages waiting to be delivered",
            self.store.outbox_len() as f64,
        )?;
        gauge(
            e,
            "omnigate_deliveries_dead",
            "Outbound messages given up on, kept for an admin to retry or drop",
            self.store.dead_letter_count() as f64,
        )?;
        gauge(
            e,
            "omnigate_flow_sessions",
            "Conversations a chatbot flow is answering",
            self.store.flow_session_count() as f64,
        )?;
        gauge(
            e,
            "omnigate_users",
            "User accounts",
            self.store.user_count() as f64,
        )?;
        gauge(
            e,
            "omnigate_sessions",
            "Stored login sessions",
            self.store.session_count() as f64,
        )?;
        let start = self
            .started
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        gauge(
            e,
            "process_start_time_seconds",
            "Start time of the process since the Unix epoch",
            start,
        )?;
        if let Some(process) = ProcessFigures::read() {
            gauge(
                e,
                "process_resident_memory_bytes",
                "Resident memory size",
                process.rss_bytes,
            )?;
            gauge(
                e,
                "process_virtual_memory_bytes",
                "Virtual memory size",
                process.vm_bytes,
            )?;
            counter(
                e,
                "process_cpu_seconds",
                "User and system CPU time",
                process.cpu_seconds,
            )?;
            gauge(e, "process_threads", "OS threads", process.threads)?;
            gauge(
                e,
                "process_open_fds",
                "Open file descriptors",
                process.open_fds,
            )?;
        }
        Ok(())
    }
}

/// Linux `/proc/self` figures; absent on other systems.
struct ProcessFigures {
    rss_bytes: f64,
    vm_bytes: f64,
    cpu_seconds: f64,
    threads: f64,
    open_fds: f64,
}

impl ProcessFigures {
    fn read() -> Option<ProcessFigures> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let kb = |key: &str| -> Option<f64> {
            let line = status.lines().find(|l| l.starts_with(key))?;
            let value: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(value * 1024.0)
        };
        let threads = status
            .lines()
            .find(|l| l.starts_with("Threads:"))
            .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            .unwrap_or(0.0);
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // Fields after the parenthesised command name; utime and stime are
        // the 14th and 15th fields, in clock ticks (USER_HZ, 100 on Linux).
        let after_name = stat.rsplit_once(')')?.1;
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        let cpu_seconds = (ticks(11) + ticks(12)) / 100.0;
        let open_fds = std::fs::read_dir("/proc/self/fd").map_or(0, Iterator::count) as f64;
        Some(ProcessFigures {
            rss_bytes: kb("VmRSS:")?,
            vm_bytes: kb("VmSize:")?,
            cpu_seconds,
            threads,
            open_fds,
        })
    }
}
